"""A library the backend's own imports need that is not installed (CoqHammer for the tactic policy's
``sauto``): the backend is unavailable (exit 3) with the library and how to install it, never a verdict on
the theorem; a library the theorem's own header needs stays the theorem's fault (real Coq)."""

from __future__ import annotations

from pathlib import Path

import pytest
from coq_library_fixtures import coqlib_without

from search import BackendUnavailableError, InvalidTheoremError, Theorem
from search.backends.coq import CoqBackend, CoqBackendConfig
from search.backends.coq.launch import missing_library
from search.backends.coq.policy import COQ_POLICY_IMPORTS

HAMMER = "From Hammer Require Import Tactics."
THEOREM = Theorem("t", "Theorem t : 1 = 1.")


def test_a_wrapped_message_of_a_missing_library_names_the_library_and_its_debian_package() -> None:
    error = missing_library(HAMMER, "Cannot find a physical path bound to logical path\nTactics with "
                                    "prefix Hammer.")
    assert isinstance(error, BackendUnavailableError)
    assert "needs the Coq library Hammer.Tactics, which is not installed" in error.reason
    assert error.fix is not None and "`apt-get install libcoq-hammer`" in error.fix
    assert "prover doctor --backend coq" in error.fix


@pytest.mark.parametrize(("sentence", "message", "library", "install"), [
    ("Require Import Coquelicot.Coquelicot.",
     "Cannot find a physical path bound to logical path Coquelicot.Coquelicot.", "Coquelicot.Coquelicot",
     "`apt-get install libcoq-coquelicot`"),
    ("From Foo Require Import Bar.", "Cannot find a physical path bound to logical path Bar with prefix Foo.",
     "Foo.Bar", "install the Coq library that provides Foo.Bar"),
    ("Require Import Foo.Bar.", "Cannot find library Foo.Bar in loadpath", "Foo.Bar",
     "install the Coq library that provides Foo.Bar"),
])
def test_each_form_of_the_message_names_the_library(sentence: str, message: str, library: str,
                                                    install: str) -> None:
    error = missing_library(sentence, message)
    assert error is not None and f"the Coq library {library}," in error.reason
    assert error.fix is not None and install in error.fix


def test_another_refusal_of_an_import_is_not_a_missing_library() -> None:
    assert missing_library("Require Import Lia.", "Syntax error: '.' expected after [vernac] (in [vernac])") \
        is None


def test_coqtop_without_coqhammer_makes_the_tactic_policys_imports_a_missing_library(tmp_path: Path) -> None:
    coqlib = coqlib_without(tmp_path, "Hammer")
    config = CoqBackendConfig(coq_args=("-coqlib", str(coqlib)), imports=COQ_POLICY_IMPORTS)
    with CoqBackend(config) as backend, pytest.raises(BackendUnavailableError) as caught:
        backend.open(THEOREM)
    assert not isinstance(caught.value, InvalidTheoremError)
    assert "the Coq library Hammer.Tactics" in caught.value.reason
    assert "'t'" not in str(caught.value)  # not the theorem's fault
    assert caught.value.fix is not None and "apt-get install libcoq-hammer" in caught.value.fix


def test_an_import_of_a_library_nowhere_names_it_and_the_generic_fix() -> None:
    config = CoqBackendConfig(imports=("From NoSuchLibrary Require Import Anywhere.",))
    with CoqBackend(config) as backend, pytest.raises(BackendUnavailableError) as caught:
        backend.open(THEOREM)
    assert "the Coq library NoSuchLibrary.Anywhere" in caught.value.reason
    assert caught.value.fix is not None
    assert "install the Coq library that provides NoSuchLibrary.Anywhere" in caught.value.fix


def test_a_header_that_needs_a_missing_library_is_still_the_theorems_fault() -> None:
    theorem = Theorem("t", "Theorem t : 1 = 1.", header="From NoSuchLibrary Require Import Anywhere.")
    with CoqBackend(CoqBackendConfig()) as backend, pytest.raises(InvalidTheoremError) as caught:
        backend.open(theorem)
    assert caught.value.theorem == "t" and "NoSuchLibrary" in caught.value.reason


def test_a_damaged_library_of_the_backend_s_imports_is_the_backend_s_fault(tmp_path: Path) -> None:
    """A truncated ``.vo`` (an interrupted install) fails every theorem the same way: not an invalid theorem
    (a final verdict a sweep never retries) but the backend unavailable, since the imports fail alone."""
    import shutil
    import subprocess

    coqlib = coqlib_without(tmp_path, "Hammer")
    where = Path(subprocess.run(["coqc", "-where"], capture_output=True, text=True,
                                check=True).stdout.strip())
    shutil.copytree(where / "user-contrib" / "Hammer", coqlib / "user-contrib" / "Hammer")
    compiled = coqlib / "user-contrib" / "Hammer" / "Tactics" / "Tactics.vo"
    compiled.write_bytes(compiled.read_bytes()[:100])
    config = CoqBackendConfig(coq_args=("-coqlib", str(coqlib)), imports=COQ_POLICY_IMPORTS)
    with CoqBackend(config) as backend, pytest.raises(BackendUnavailableError) as caught:
        backend.open(THEOREM)
    assert not isinstance(caught.value, InvalidTheoremError)
    assert "fails without any theorem" in caught.value.reason and "Tactics.vo" in caught.value.reason
