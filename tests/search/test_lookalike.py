"""Names drawn like ASCII names they are not, which headers may not declare."""

from __future__ import annotations

import pytest

from search.lookalike import ascii_lookalike, ascii_variants, name_problem


@pytest.mark.parametrize(("name", "looks_like"), [
    ("F\u0430lse", "False"),  # Cyrillic а
    ("\u039fdd", "Odd"),  # Greek capital omicron
    ("\uff26alse", "False"),  # fullwidth F
    ("\U0001d405alse", "False"),  # mathematical bold F
    ("N\u0430t.add", "Nat.add"),
    ("Tr\u03c5e", "True"),  # Greek upsilon among Latin letters
    ("F\u03b1lse", "False"),  # Greek alpha among Latin letters
])
def test_names_that_impersonate_an_ascii_name(name: str, looks_like: str) -> None:
    assert ascii_lookalike(name) == looks_like


@pytest.mark.parametrize("name", ["False", "h_0", "\u03b1", "h\u2080", "x\u271d", "\u03bbx", "f\u2081_pos"])
def test_ascii_names_and_honest_unicode_names_impersonate_nothing(name: str) -> None:
    assert ascii_lookalike(name) is None


@pytest.mark.parametrize("name", ["Fa\u04cfse", "Tr\u057de", "F\u0430lse", "\u039fdd", "Tr\u03c5e",
                                  "pl\u03c5s", "e\u03bden", "m\u03b9n", "\u03c1lus", "\u03c7or"])
def test_a_header_name_with_a_letter_drawn_like_a_latin_one_is_refused(name: str) -> None:
    """A lookalike table is never complete (a palochka, an Armenian s): only honest characters pass."""
    assert name_problem(name) is not None and "header names keep to ASCII letters" in name_problem(name)


@pytest.mark.parametrize("name", ["x_pos", "h\u2080", "\u03b1\u2081", "f'", "x\u271d", "a\u2099",
                                  "x\u2098\u2090\u2093", "\u211dpos", "\u03b1\u03c3", "\u03bbx",
                                  "\u03b8_pos"])
def test_ascii_greek_and_subscripted_header_names_are_fine(name: str) -> None:
    assert name_problem(name) is None


def test_ascii_names_are_read_as_their_lookalikes() -> None:
    """``FaIse`` (capital I) reads as ``False``: the header check asks Coq whether a variant names
    something (tests/search/backends/test_coq_attacks.py)."""
    assert "False" in ascii_variants("FaIse") and "Fa1se" in ascii_variants("FaIse")
    assert "OI" in ascii_variants("Ol") and not any(v[0].isdigit() for v in ascii_variants("Ol"))
    assert ascii_variants("fact") == [] and ascii_variants("F\u0430lse") == []
    assert len(ascii_variants("IlIlIlIl", limit=10)) == 10
