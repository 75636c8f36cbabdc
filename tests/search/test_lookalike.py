"""Names drawn like ASCII names they are not, which headers may not declare."""

from __future__ import annotations

import pytest

from search.lookalike import ascii_lookalike


@pytest.mark.parametrize(("name", "looks_like"), [
    ("F\u0430lse", "False"),  # Cyrillic а
    ("\u039fdd", "Odd"),  # Greek capital omicron
    ("\uff26alse", "False"),  # fullwidth F
    ("\U0001d405alse", "False"),  # mathematical bold F
    ("N\u0430t.add", "Nat.add"),
])
def test_names_that_impersonate_an_ascii_name(name: str, looks_like: str) -> None:
    assert ascii_lookalike(name) == looks_like


@pytest.mark.parametrize("name", ["False", "h_0", "\u03b1", "h\u2080", "x\u271d", "\u03bbx", "f\u2081_pos"])
def test_ascii_names_and_honest_unicode_names_impersonate_nothing(name: str) -> None:
    assert ascii_lookalike(name) is None
