"""What a list of sentences loads, as real Coq's ``Print Libraries`` answers it."""

from __future__ import annotations

import pytest

from search.backends.coq import CoqBackendConfig
from search.backends.coq.loaded_libraries import LibrariesUnknownError, loaded_libraries

CONFIG = CoqBackendConfig()


def test_required_libraries_and_their_dependencies_are_listed() -> None:
    loaded = loaded_libraries(["Require Import Coq.Lists.List."], CONFIG)
    assert "Coq.Lists.List" in loaded
    assert "Coq.Init.Prelude" in loaded
    assert "Coq.ZArith.ZArith" not in loaded


def test_text_printed_before_the_listing_adds_no_name() -> None:
    spoof = 'Goal True. idtac "Loaded library files: Fake.Library". Abort.'
    loaded = loaded_libraries([spoof], CONFIG)
    assert "Fake.Library" not in loaded
    assert "Coq.Init.Prelude" in loaded


def test_sentences_that_do_not_compile_are_an_error() -> None:
    with pytest.raises(LibrariesUnknownError, match="do not compile"):
        loaded_libraries(["Require Import No.Such.Library."], CONFIG)
