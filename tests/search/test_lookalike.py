"""Names drawn like ASCII names they are not, which headers may not declare."""

from __future__ import annotations

import pytest

from search.lookalike import ascii_lookalike, name_problem


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


@pytest.mark.parametrize("name", ["Fa\u04cfse", "Tr\u057de", "F\u0430lse", "\u039fdd"])
def test_a_header_name_with_a_letter_drawn_like_a_latin_one_is_refused(name: str) -> None:
    """A lookalike table is never complete (a palochka, an Armenian s): only honest characters pass."""
    assert name_problem(name) is not None and "header names keep to ASCII letters" in name_problem(name)


@pytest.mark.parametrize("name", ["x_pos", "h\u2080", "\u03b1\u2081", "f'", "x\u271d", "a\u2099",
                                  "x\u2098\u2090\u2093", "\u211dpos"])
def test_ascii_greek_and_subscripted_header_names_are_fine(name: str) -> None:
    assert name_problem(name) is None
