"""The LeanDojo backend without Lean: a fake ``Dojo`` built on LeanDojo's real result and exception classes.

The fake's script maps ``(state pp, tactic)`` to what Lean does. Each fake Dojo is one "process": its state
ids carry the process number, and sending a state of another process fails the test, as a real LeanDojo
REPL would not know it. Every mapping is checked, and timeout/crash -> restart + replay, and init errors.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from search.backends.lean.dojo import LeanDojoBackend
from search.backends.lean.dojo_api import DojoApi, api_from_module
from search.backends.lean.dojo_config import LeanDojoConfig
from search.backends.lean.dojo_session import GAVE_UP, DojoHandle
from search.backends.lean.dojo_verify import LeanFileChecker
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.protocols import Backend, Session
from search.types import (
    DojoLocator,
    ProofFinished,
    TacticError,
    TacticState,
    TacticTimeout,
    Theorem,
    Verdict,
)

ROOT = "x : ℕ\n⊢ x + 0 = x"


def real_lean_dojo() -> Any:
    """The installed ``lean_dojo`` (importing it offline needs GITHUB_ACCESS_TOKEN unset)."""
    mp = pytest.MonkeyPatch()
    mp.delenv("GITHUB_ACCESS_TOKEN", raising=False)
    try:
        return pytest.importorskip("lean_dojo")
    finally:
        mp.undo()


@dataclass
class FakeProc:
    """Stands for LeanDojo's pexpect child: records the per-read timeout set on it."""

    timeout: float = 0.0
    killed: bool = False


@dataclass
class DojoScript:
    """``replies[(pp, tactic)]``: ``("state", pp)``, ``("finished",)``, ``("error", text)``,
    ``("gave_up",)``, ``("timeout",)``, ``("crash", text)``, ``("oom",)``, ``("assert",)`` (one of
    LeanDojo's own asserts fails: a goal with two ⊢, a process killed by a signal)."""

    replies: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    root: str = ROOT
    init_error: Exception | None = None
    init_errors_after: int | None = None  # fail every entry after this many successful ones
    processes: list[FakeDojo] = field(default_factory=list)
    sent: list[tuple[int, str, float]] = field(default_factory=list)  # (process, tactic, timeout)


class FakeDojo:
    """Mimics ``lean_dojo.Dojo``'s constructor, context protocol and ``run_tac``."""

    _numbers = itertools.count(1)

    def __init__(self, lean_dojo: Any, script: DojoScript, entry: Any, timeout: int = 600,
                 additional_imports: list[str] | None = None, build_deps: bool = True) -> None:
        self.ld, self.script, self.entry = lean_dojo, script, entry
        self.init_timeout, self.additional_imports, self.build_deps = timeout, additional_imports, build_deps
        self.number = next(self._numbers)
        self.exited = False
        self._ids = itertools.count()

    def __enter__(self) -> tuple[FakeDojo, Any]:
        script = self.script
        entered = sum(1 for p in script.processes if hasattr(p, "proc"))
        self.proc = FakeProc(timeout=self.init_timeout)  # spawned before the first read, as in LeanDojo
        script.processes.append(self)
        if script.init_error is not None:
            raise script.init_error
        if script.init_errors_after is not None and entered >= script.init_errors_after:
            raise self.ld.DojoInitError("Unexpected EOF")
        return self, self._state(script.root)

    def __exit__(self, *exc: object) -> None:
        self.exited = True
        self.proc.killed = True

    def _state(self, pp: str) -> Any:
        return self.ld.TacticState(pp, self.number * 1000 + next(self._ids))

    def run_tac(self, state: Any, tactic: str) -> Any:
        assert not self.exited, "a tactic was sent to an exited Dojo"
        assert state.id // 1000 == self.number, "a state of another Dojo process was sent"
        self.script.sent.append((self.number, tactic, self.proc.timeout))
        kind, *rest = self.script.replies.get((state.pp, tactic), ("error", f"unknown tactic {tactic}"))
        ld, new_id = self.ld, self.number * 1000 + next(self._ids)
        replies = {"state": lambda: ld.TacticState(rest[0], new_id), "error": lambda: ld.LeanError(rest[0]),
                   "finished": lambda: ld.ProofFinished(new_id, None), "gave_up": ld.ProofGivenUp}
        if kind in replies:
            return replies[kind]()
        raise {"timeout": ld.DojoTacticTimeoutError(), "oom": ld.DojoCrashError("OOM"),
               "assert": AssertionError()}.get(kind, ld.DojoCrashError(rest[0] if rest else "crash"))


def fake_api(script: DojoScript) -> DojoApi:
    """LeanDojo's real result and exception classes around a fake ``Dojo``/``Theorem``/``LeanGitRepo``."""
    ld = real_lean_dojo()

    def traced_path(repo: tuple[str, str], build_deps: bool = True) -> str:
        return f"/cache/{repo[0].rsplit('/', 1)[-1]}-{repo[1]}"

    return replace(
        api_from_module(ld), Dojo=lambda entry, **kwargs: FakeDojo(ld, script, entry, **kwargs),
        Theorem=lambda repo, path, name: (repo, path, name), LeanGitRepo=lambda url, commit: (url, commit),
        get_traced_repo_path=traced_path,
    )


# -- fixtures -------------------------------------------------------------------------------------------

S1 = "x : ℕ\n⊢ x = x"
S2 = "case a\nx : ℕ\n⊢ 0 ≤ x\n\ncase b\nx : ℕ\n⊢ x ≤ x"
LOCATOR = DojoLocator("https://github.com/yangky11/miniF2F-lean4", "2fc983be", "MiniF2F/Valid.lean", "t")
THEOREM = Theorem("t", "theorem t (x : ℕ) : x + 0 = x :=", header="import Mathlib", locator=LOCATOR)


def standard_script() -> DojoScript:
    return DojoScript(replies={
        (ROOT, "simp only [Nat.add_zero]"): ("state", S1),
        (ROOT, "constructor"): ("state", S2),
        (ROOT, "omega"): ("finished",),
        (ROOT, "bad"): ("error", "unknown tactic"),
        (ROOT, "exact?"): ("gave_up",),
        (ROOT, "hang"): ("timeout",),
        (ROOT, "boom"): ("crash", "Unexpected EOF"),
        (ROOT, "big"): ("oom",),
        (S1, "rfl"): ("finished",),
        (S1, "hang"): ("timeout",),
    })


def make_backend(script: DojoScript, **config: Any) -> LeanDojoBackend:
    return LeanDojoBackend(LeanDojoConfig(**config), api=fake_api(script))


@pytest.fixture
def script() -> DojoScript:
    return standard_script()


@pytest.fixture
def backend(script: DojoScript) -> LeanDojoBackend:
    return make_backend(script, tactic_timeout=7.0)


# -- contract and mapping -------------------------------------------------------------------------------

def test_backend_and_session_satisfy_the_protocols(backend: LeanDojoBackend) -> None:
    session = backend.open(THEOREM)
    assert isinstance(backend, Backend) and isinstance(session, Session)
    assert backend.name == "dojo" and session.theorem is THEOREM
    session.close()
    session.close()  # idempotent


def test_open_builds_the_dojo_from_the_locator(backend: LeanDojoBackend, script: DojoScript) -> None:
    backend.open(THEOREM)
    dojo = script.processes[0]
    assert dojo.entry == ((LOCATOR.repo_url, LOCATOR.commit), LOCATOR.file_path, LOCATOR.full_name)
    assert dojo.init_timeout == 600 and dojo.build_deps is False and dojo.additional_imports == []


def test_local_repos_replace_the_url(script: DojoScript, tmp_path: Path) -> None:
    clone = tmp_path / "miniF2F-lean4"
    (clone / ".git").mkdir(parents=True)
    backend = make_backend(script, local_repos=(f"{LOCATOR.repo_url}={clone}",))
    backend.open(THEOREM)
    assert script.processes[0].entry[0] == (str(clone), LOCATOR.commit)


@pytest.mark.parametrize("made", [False, True])
def test_a_local_repo_that_is_no_git_clone_is_named_before_leandojo(script: DojoScript, tmp_path: Path,
                                                                   made: bool) -> None:
    """LeanDojo would call the path "not a valid URL" (and create the folder)."""
    folder = tmp_path / "clone"
    if made:
        folder.mkdir()
    backend = make_backend(script, local_repos=(f"{LOCATOR.repo_url}={folder}",))
    with pytest.raises(BackendUnavailableError, match="is not a git clone"):
        backend.open(THEOREM)
    assert folder.exists() == made and script.processes == []


def test_initial_state_maps_pp_goals_and_handle(backend: LeanDojoBackend) -> None:
    root = backend.open(THEOREM).initial_state()
    assert root.pp == ROOT and root.goals == (ROOT,)
    assert isinstance(root.handle, DojoHandle) and root.handle.path == ()


def test_tactic_state_maps_with_goals_split_like_leandojo(backend: LeanDojoBackend) -> None:
    session = backend.open(THEOREM)
    result = session.run_tactic(session.initial_state(), "constructor")
    assert isinstance(result, TacticState) and result.pp == S2
    assert result.goals == ("case a\nx : ℕ\n⊢ 0 ≤ x", "case b\nx : ℕ\n⊢ x ≤ x")
    assert result.handle.path == ("constructor",)


@pytest.mark.parametrize(("tactic", "expected"), [
    ("omega", ProofFinished()),
    ("bad", TacticError("unknown tactic")),
    ("exact?", TacticError(GAVE_UP)),
])
def test_results_map_onto_ours(backend: LeanDojoBackend, tactic: str, expected: object) -> None:
    session = backend.open(THEOREM)
    assert session.run_tactic(session.initial_state(), tactic) == expected


def test_per_call_timeout_reaches_the_pexpect_child(backend: LeanDojoBackend, script: DojoScript) -> None:
    session = backend.open(THEOREM)
    session.run_tactic(session.initial_state(), "bad")
    session.run_tactic(session.initial_state(), "bad", timeout=2.5)
    assert [timeout for _, _, timeout in script.sent] == [7.0, 2.5]


def test_unsafe_tactics_never_reach_lean(backend: LeanDojoBackend, script: DojoScript) -> None:
    session = backend.open(THEOREM)
    result = session.run_tactic(session.initial_state(), "sorry")
    assert isinstance(result, TacticError) and "sorry" in result.message
    assert backend.check_tactic("native_decide") is not None and backend.check_tactic("simp") is None
    assert script.sent == []


# -- timeouts and crashes: kill, restart, replay ----------------------------------------------------------

def test_timeout_kills_the_dojo_and_the_next_tactic_restores_by_replay(
    backend: LeanDojoBackend, script: DojoScript
) -> None:
    session = backend.open(THEOREM)
    s1 = session.run_tactic(session.initial_state(), "simp only [Nat.add_zero]")
    assert isinstance(s1, TacticState)
    assert session.run_tactic(s1, "hang", timeout=3.0) == TacticTimeout(3.0)
    first = script.processes[0]
    assert first.exited and first.proc.killed and len(script.processes) == 1  # killed at once
    assert session.run_tactic(s1, "rfl") == ProofFinished()
    second = script.processes[1]
    assert session.restarts == 1 and not second.exited
    assert [(n, t) for n, t, _ in script.sent[-2:]] == [
        (second.number, "simp only [Nat.add_zero]"), (second.number, "rfl")]


def test_states_of_the_old_process_keep_working_after_restart(
    backend: LeanDojoBackend, script: DojoScript
) -> None:
    session = backend.open(THEOREM)
    root = session.initial_state()
    assert isinstance(session.run_tactic(root, "hang"), TacticTimeout)
    assert session.run_tactic(root, "omega") == ProofFinished()
    again = session.run_tactic(root, "simp only [Nat.add_zero]")
    assert isinstance(again, TacticState) and again.pp == S1 and again.handle.generation == 1
    assert session.run_tactic(again, "rfl") == ProofFinished()


@pytest.mark.parametrize(("tactic", "words"), [("boom", "Lean crashed"), ("big", "out of memory")])
def test_crash_is_an_error_and_the_session_restarts(
    backend: LeanDojoBackend, script: DojoScript, tactic: str, words: str
) -> None:
    session = backend.open(THEOREM)
    result = session.run_tactic(session.initial_state(), tactic)
    assert isinstance(result, TacticError) and words in result.message and result.transient
    assert script.processes[0].exited
    assert session.run_tactic(session.initial_state(), "omega") == ProofFinished()
    assert session.restarts == 1


def test_leandojo_s_own_asserts_are_errors_and_the_session_restarts(script: DojoScript) -> None:
    script.replies[(ROOT, "weird")] = ("assert",)
    session = make_backend(script).open(THEOREM)
    s1 = session.run_tactic(session.initial_state(), "simp only [Nat.add_zero]")
    result = session.run_tactic(session.initial_state(), "weird")
    assert isinstance(result, TacticError) and "LeanDojo failed" in result.message and result.transient
    assert script.processes[0].exited  # its state is unknown: thrown away
    script.replies[(ROOT, "simp only [Nat.add_zero]")] = ("assert",)  # the replay trips too
    restored = session.run_tactic(s1, "rfl")
    assert isinstance(restored, TacticError) and "could not restore" in restored.message
    assert restored.transient
    assert session.run_tactic(session.initial_state(), "omega") == ProofFinished()


def test_a_request_longer_than_a_terminal_line_never_reaches_lean(backend: LeanDojoBackend,
                                                                  script: DojoScript) -> None:
    """LeanDojo types a request into a terminal, which passes 4095 bytes of a line: a longer one would
    reach Lean cut and never be answered (ℝ is 3 bytes in UTF-8)."""
    session = backend.open(THEOREM)
    for tactic in ("simp [" + "ℝ" * 1400 + "]", "simp only [" + "a, " * 1355 + "b]"):
        assert len(tactic) <= 4096  # within the tactic filter's length limit
        result = session.run_tactic(session.initial_state(), tactic)
        assert isinstance(result, TacticError) and "terminal line" in result.message
    assert script.sent == []
    assert session.run_tactic(session.initial_state(), "omega") == ProofFinished()


def test_replay_that_fails_is_an_error_not_an_exception(script: DojoScript) -> None:
    backend = make_backend(script)
    session = backend.open(THEOREM)
    s1 = session.run_tactic(session.initial_state(), "simp only [Nat.add_zero]")
    assert isinstance(session.run_tactic(s1, "hang"), TacticTimeout)
    script.replies[(ROOT, "simp only [Nat.add_zero]")] = ("error", "now it fails")
    result = session.run_tactic(s1, "rfl")
    assert isinstance(result, TacticError) and "could not restore" in result.message and result.transient


def test_replay_that_reaches_another_state_is_refused(script: DojoScript) -> None:
    session = make_backend(script).open(THEOREM)
    s1 = session.run_tactic(session.initial_state(), "simp only [Nat.add_zero]")
    assert isinstance(session.run_tactic(s1, "hang"), TacticTimeout)
    script.replies[(ROOT, "simp only [Nat.add_zero]")] = ("state", S2)
    result = session.run_tactic(s1, "rfl")
    assert isinstance(result, TacticError) and "differs" in result.message and result.transient


def test_a_restart_that_fails_makes_the_backend_unavailable(script: DojoScript) -> None:
    script.init_errors_after = 1
    session = make_backend(script).open(THEOREM)
    assert isinstance(session.run_tactic(session.initial_state(), "hang"), TacticTimeout)
    with pytest.raises(BackendUnavailableError, match="restarting"):
        session.run_tactic(session.initial_state(), "omega")
    assert all(p.exited for p in script.processes)


def test_close_exits_every_open_dojo(backend: LeanDojoBackend, script: DojoScript) -> None:
    backend.open(THEOREM)
    backend.open(THEOREM)
    backend.close()
    assert len(script.processes) == 2 and all(p.exited for p in script.processes)


# -- refusing theorems, init errors -----------------------------------------------------------------------

def test_a_theorem_without_locator_is_refused(backend: LeanDojoBackend) -> None:
    with pytest.raises(InvalidTheoremError, match="repository URL, commit, file path"):
        backend.open(Theorem("t", "theorem t : True :=", header="import Mathlib"))


def test_proofnet_instances_are_refused(backend: LeanDojoBackend) -> None:
    theorem = Theorem("Herstein_exercise_2_1_21", "instance exercise_2_1_21 {G : Type*} : Group G :=",
                      locator=LOCATOR)
    with pytest.raises(InvalidTheoremError, match="instance"):
        backend.open(theorem)


def test_an_unsafe_statement_is_refused_before_leandojo(backend: LeanDojoBackend, script: DojoScript) -> None:
    theorem = Theorem("t", "theorem t : True :=", header="import Mathlib\naxiom ax : False", locator=LOCATOR)
    with pytest.raises(InvalidTheoremError, match="axiom"):
        backend.open(theorem)
    assert script.processes == []


@pytest.mark.parametrize(("message", "error"), [
    ("Failed to locate the theorem with `t` as its fully qualified name.", InvalidTheoremError),
    ("Cannot find the *.ast.json file for t", InvalidTheoremError),
    ("Cannot interact with theorems with the `where` keyword.", InvalidTheoremError),
    ("Timeout during initialization", BackendUnavailableError),
    ("Unexpected EOF", BackendUnavailableError),
])
def test_init_errors_are_sorted_and_the_process_is_not_leaked(
    script: DojoScript, message: str, error: type[Exception]
) -> None:
    script.init_error = real_lean_dojo().DojoInitError(message)
    with pytest.raises(error, match=message.split()[0]):
        make_backend(script).open(THEOREM)
    assert script.processes[0].exited  # LeanDojo itself would leak it


@pytest.mark.parametrize("exc", [FileNotFoundError("TMP_DIR"), AssertionError("Lean4Repl.lean")])
def test_environment_failures_make_the_backend_unavailable(script: DojoScript, exc: Exception) -> None:
    script.init_error = exc
    with pytest.raises(BackendUnavailableError, match="CACHE_DIR"):
        make_backend(script).open(THEOREM)


def test_offline_mode_requires_a_local_clone(script: DojoScript) -> None:
    with pytest.raises(BackendUnavailableError, match="local clone"):
        make_backend(script, offline=True).open(THEOREM)


# -- render and verify ----------------------------------------------------------------------------------

def test_render_proof_is_header_statement_and_by_block(backend: LeanDojoBackend) -> None:
    text = backend.render_proof(THEOREM, ["simp only [Nat.add_zero]", "rfl"])
    expected = "theorem t (x : ℕ) : x + 0 = x := by\n  simp only [Nat.add_zero]\n  rfl\n"
    assert text == "import Mathlib\n\n" + expected


@dataclass(frozen=True, kw_only=True)
class RecordingChecker(LeanFileChecker):
    """Records what would be checked instead of running Lean."""

    seen: list[tuple[Path, str, str, tuple[str, ...]]]

    def verify(self, header: str, statement: str, tactics: Any) -> Verdict:
        self.seen.append((self.project, header, statement, tuple(tactics)))
        return Verdict(True, (), (), "text")


def test_verify_runs_in_the_traced_repo_or_the_configured_project(script: DojoScript) -> None:
    seen: list[tuple[Path, str, str, tuple[str, ...]]] = []
    checker = lambda project: RecordingChecker(project=project, seen=seen)  # noqa: E731
    assert LeanDojoBackend(api=fake_api(script), checker=checker).verify(THEOREM, ["omega"]).ok
    configured = LeanDojoBackend(LeanDojoConfig(verify_project="/lp"), api=fake_api(script), checker=checker)
    configured.verify(THEOREM, ["omega"])
    assert [s[0] for s in seen] == [Path("/cache/miniF2F-lean4-2fc983be"), Path("/lp")]
    assert seen[0][1:] == (THEOREM.header, THEOREM.statement, ("omega",))


def test_verify_refuses_unsafe_tactics_without_running_lean(backend: LeanDojoBackend) -> None:
    verdict = backend.verify(THEOREM, ["simp", "native_decide"])
    assert not verdict.ok and "tactic 2 refused" in verdict.messages[0]
    assert not backend.verify(THEOREM, []).ok


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="timeout"):
        LeanDojoConfig(timeout=0)
    with pytest.raises(ValueError, match="additional_imports"):
        LeanDojoConfig(additional_imports=("Mathlib Tactic",))
