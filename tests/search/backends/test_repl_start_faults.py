"""A Lean REPL (the fake REPL process) that dies while starting: the session opens on a replacement;
one that never starts is one clear error after the allowed tries."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, FAKE_REPL, HEADER, chain_world, script_config
from fault_fixtures import flaky_program, start_counts

from search.backends.lean import LeanReplBackend
from search.errors import BackendUnavailableError, TheoremLoadError
from search.types import TacticState, Theorem

THEOREM = Theorem("chain", CHAIN_STATEMENT, HEADER)


def flaky_config(tmp_path: Path, **flaky):
    config = script_config(tmp_path, chain_world(2), start_backoff=0.01)
    program = flaky_program(tmp_path / "bin", [sys.executable, str(FAKE_REPL)], name="repl", **flaky)
    return replace(config, command=(str(program), *config.command[2:]))


def test_a_repl_that_dies_on_its_first_starts_is_replaced_and_the_theorem_opens(tmp_path: Path) -> None:
    with LeanReplBackend(flaky_config(tmp_path, die_first=2)) as backend:
        session = backend.open(THEOREM)
        assert isinstance(session.run_tactic(session.initial_state(), "step"), TacticState)
        assert backend.pool.restarts == 2
    assert start_counts(tmp_path / "bin") == (2, 1)


def test_a_repl_that_never_starts_is_one_error_after_the_allowed_tries(tmp_path: Path) -> None:
    config = replace(flaky_config(tmp_path, die_percent=100), start_attempts=3)
    with LeanReplBackend(config) as backend, pytest.raises(BackendUnavailableError, match="died") as caught:
        backend.open(THEOREM)
    assert not isinstance(caught.value, TheoremLoadError)  # the backend's fault: a sweep stops on it
    # the allowed tries, then one more start that tells a REPL that cannot start from one theorem's fault
    assert start_counts(tmp_path / "bin") == (4, 0)


def test_a_repl_that_dies_importing_one_theorems_header_fails_that_theorem_alone(tmp_path: Path) -> None:
    """The REPL answers a command without imports: its death on this header is the theorem's load fault
    (``TheoremLoadError``, an error record in a sweep), not an unavailable backend, and the next theorem
    opens."""
    world = chain_world(2) | {"crash_imports": ["Crashy"]}
    config = script_config(tmp_path, world, start_attempts=2, start_backoff=0.01)
    crashy = Theorem("chain", CHAIN_STATEMENT, "import Crashy\nopen Nat")
    with LeanReplBackend(config) as backend:
        with pytest.raises(TheoremLoadError, match="load theorem 'chain': the REPL failed") as caught:
            backend.open(crashy)
        assert isinstance(caught.value, BackendUnavailableError) and caught.value.theorem == "chain"
        assert backend.pool.restarts >= 2  # each try died on the header
        session = backend.open(THEOREM)
        assert isinstance(session.run_tactic(session.initial_state(), "step"), TacticState)
