"""One theorem opened in LeanDojo's ``Dojo``, behind the engine's ``Session`` contract.

Mapping of LeanDojo's replies: ``TacticState`` -> ``TacticState`` (goals split on blank lines as LeanDojo
does), ``ProofFinished`` -> ``ProofFinished``, ``LeanError`` -> ``TacticError``, ``ProofGivenUp`` ->
``TacticError("proof gave up (sorry)")``, ``DojoTacticTimeoutError`` -> ``TacticTimeout``,
``DojoCrashError`` -> ``TacticError``. Errors of the infrastructure (a crash, LeanDojo failing, a state that
could not be restored) are ``TacticError(transient=True)``: no search records a failure on their account.

Surviving timeouts and crashes: after a ``DojoTacticTimeoutError`` Lean is still computing (LeanDojo does
not interrupt it) and its next reply could answer the old request, so the Dojo is exited (its process tree
killed) at once; after a crash it is dead. The next request enters a fresh Dojo and restores the state it
starts from by replaying the tactic path recorded in the state's handle. Handles carry the Dojo
*generation* that produced them, so a state from an older process is always restored, never sent to a
process that does not know its id.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from search.backends.lean.dojo_api import DojoApi
from search.backends.lean.dojo_config import LeanDojoConfig
from search.backends.lean.safety import check_lean_tactic
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import ProofFinished, TacticError, TacticResult, TacticState, TacticTimeout, Theorem

logger = logging.getLogger(__name__)

GAVE_UP = "proof gave up (sorry)"
OFFLINE_FIX = ("check CACHE_DIR holds the traced repository, TMP_DIR exists, and offline settings "
               "(DISABLE_REMOTE_CACHE=1, local_repos, no GITHUB_ACCESS_TOKEN); see the README")
# DojoInitError messages that say the theorem itself cannot be opened (the rest are environment trouble).
_THEOREM_PROBLEMS = ("Failed to locate", "ast.json", "`where`", "prelude")
# What LeanDojo raises besides its own exceptions while opening (tracing, git, network, its asserts);
# the errors of its dependencies PyGithub and GitPython come with the API (``DojoApi.library_errors``).
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError, subprocess.SubprocessError, AssertionError, RuntimeError, ValueError,
)


@dataclass(frozen=True)
class DojoHandle:
    """How to reach a state: the tactics from the initial state, and the state object in the Dojo of
    ``generation`` (valid only while that Dojo lives)."""

    path: tuple[str, ...]
    generation: int
    state: Any


# LeanDojo types each request into a pseudo-terminal as one line, and a Linux terminal passes at most
# this many bytes of a line: a longer request reaches Lean cut, Lean cannot parse it and never answers.
PTY_LINE_BYTES = 4095


def _line_problem(tactic: str) -> str | None:
    """Why LeanDojo could not send ``tactic`` whole: its request line (``json.dumps(..., ensure_ascii=False)``
    in UTF-8 as LeanDojo writes it, with a state id of up to ten digits) is longer than a terminal line."""
    size = len(json.dumps({"sid": 10**10, "cmd": tactic}, ensure_ascii=False).encode("utf-8")) + 1
    if size > PTY_LINE_BYTES:
        return f"its request to LeanDojo is {size} bytes, over the {PTY_LINE_BYTES} a terminal line carries"
    return None


def split_goals(pp: str) -> tuple[str, ...]:
    """The goals of a pretty-printed state, as ``lean_dojo.parse_goals`` cuts them."""
    return tuple(goal for goal in pp.split("\n\n") if "⊢" in goal)


def exit_dojo(dojo: Any) -> None:
    """Exit a Dojo whatever state it is in; LeanDojo leaks the process when ``__enter__`` fails, so this
    also kills a half-started one. Cleanup errors are logged, never raised over the original error."""
    try:
        if hasattr(dojo, "proc"):
            dojo.__exit__(None, None, None)
        elif hasattr(dojo, "modified_file"):
            dojo.modified_file.__exit__(None, None, None)
    except Exception:  # cleanup must not mask the error that made us clean up
        logger.warning("exiting a Dojo failed", exc_info=True)


class LeanDojoSession:
    """A ``Session`` over one ``lean_dojo.Dojo``; opening it enters the Dojo (raises
    ``InvalidTheoremError`` or ``BackendUnavailableError``)."""

    def __init__(self, theorem: Theorem, dojo_theorem: Any, *, api: DojoApi, config: LeanDojoConfig) -> None:
        self.theorem = theorem
        self.restarts = 0
        self._dojo_theorem = dojo_theorem
        self._api = api
        self._config = config
        self._dojo: Any = None
        self._generation = 0
        self._states: dict[tuple[str, ...], Any] = {}
        self._closed = False
        self._initial = self._open()

    @property
    def closed(self) -> bool:
        return self._closed

    def initial_state(self) -> TacticState:
        return self._initial

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        """Run ``tactic`` on ``state`` (any state this session returned); never raises for a failing,
        hanging or crashing tactic. Raises ``BackendUnavailableError`` only if Lean cannot be restarted."""
        if self._closed:
            raise RuntimeError(f"the session of {self.theorem.name!r} is closed")
        handle = state.handle
        if not isinstance(handle, DojoHandle):
            raise ValueError("this state was not returned by this LeanDojo session")
        reason = check_lean_tactic(tactic, max_length=self._config.max_tactic_length) or _line_problem(tactic)
        if reason is not None:
            return TacticError(f"refused before reaching Lean: {reason}")
        seconds = timeout if timeout is not None else self._config.tactic_timeout
        source = self._resolve(handle, seconds)
        if isinstance(source, TacticError):
            return source
        return self._run(source, (*handle.path, tactic), tactic, seconds)

    def close(self) -> None:
        """Exit the Dojo (kills its Lean process tree). Idempotent."""
        self._closed = True
        self._discard(None)

    # -- talking to the Dojo -------------------------------------------------------------------------

    def _run(self, source: Any, path: tuple[str, ...], tactic: str, seconds: float) -> TacticResult:
        api = self._api
        _set_read_timeout(self._dojo, seconds)
        try:
            result = self._dojo.run_tac(source, tactic)
        except api.DojoTacticTimeoutError:
            self._discard("tactic timeout")
            return TacticTimeout(seconds)
        except api.DojoCrashError as crash:
            oom = getattr(crash, "is_out_of_memory", False)
            self._discard(f"crash ({crash})")
            return TacticError("Lean crashed" + (" (out of memory)" if oom else f": {crash}"),
                               transient=True)
        except Exception as exc:  # LeanDojo's own asserts: a goal with two ⊢, a process killed by a signal
            self._discard(f"LeanDojo failed ({exc!r})")
            return TacticError(f"LeanDojo failed on the tactic: {exc!r}", transient=True)
        return self._map(result, path)

    def _map(self, result: Any, path: tuple[str, ...]) -> TacticResult:
        api = self._api
        if isinstance(result, api.TacticState):
            self._states[path] = result
            return self._state(result, path)
        if isinstance(result, api.ProofFinished):
            handle = DojoHandle(path, self._generation, result)
            return ProofFinished(handle=handle, message=getattr(result, "message", None))
        if isinstance(result, api.LeanError):
            return TacticError(result.error)
        if isinstance(result, api.ProofGivenUp):
            return TacticError(GAVE_UP)
        raise TypeError(f"unexpected reply from LeanDojo: {result!r}")

    def _state(self, dojo_state: Any, path: tuple[str, ...]) -> TacticState:
        handle = DojoHandle(path, self._generation, dojo_state)
        return TacticState(dojo_state.pp, goals=split_goals(dojo_state.pp), handle=handle)

    def _resolve(self, handle: DojoHandle, seconds: float) -> Any:
        """The Dojo state to run from: the handle's own while its Dojo lives, else restored by replay
        in a fresh Dojo (a ``TacticError`` when that fails)."""
        if self._dojo is not None and handle.generation == self._generation:
            return handle.state
        if self._dojo is None:
            self._restart()
        return self._replay(handle, max(seconds, self._config.tactic_timeout))

    def _replay(self, handle: DojoHandle, seconds: float) -> Any:
        state = self._states[()]
        for depth, tactic in enumerate(handle.path, start=1):
            prefix = handle.path[:depth]
            if prefix in self._states:
                state = self._states[prefix]
                continue
            _set_read_timeout(self._dojo, seconds)
            try:
                result = self._dojo.run_tac(state, tactic)
            except Exception as exc:  # a timeout, a crash, or one of LeanDojo's asserts
                self._discard(f"replay failed ({exc!r})")
                return TacticError(f"could not restore the state: replaying {tactic!r} failed ({exc!r})",
                                   transient=True)
            if not isinstance(result, self._api.TacticState):
                return TacticError(f"could not restore the state: replaying {tactic!r} gave {result!r}",
                                   transient=True)
            self._states[prefix] = state = result
        expected = getattr(handle.state, "pp", None)
        if expected is not None and state.pp != expected:
            return TacticError("could not restore the state: the replayed state differs from the original",
                               transient=True)
        return state

    # -- process lifecycle ---------------------------------------------------------------------------

    def _enter(self) -> Any:
        """Enter a new Dojo and return its initial state; a half-entered Dojo is exited on failure."""
        dojo = self._api.Dojo(self._dojo_theorem, **dojo_arguments(self._api.Dojo, self._config))
        try:
            entered, initial = dojo.__enter__()
        except BaseException:
            exit_dojo(dojo)
            raise
        if not isinstance(initial, self._api.TacticState):
            exit_dojo(entered)
            raise InvalidTheoremError(self.theorem.name, f"LeanDojo opened no tactic state: {initial!r}")
        self._dojo = entered
        self._states = {(): initial}
        return initial

    def _open(self) -> TacticState:
        """First entry: sort LeanDojo's failures into a refused theorem or an unavailable backend."""
        api = self._api
        try:
            initial = self._enter()
        except api.DojoInitError as exc:
            message = str(exc) or type(exc).__name__
            if any(marker in message for marker in _THEOREM_PROBLEMS):
                raise InvalidTheoremError(self.theorem.name, f"LeanDojo cannot open it: {message}") from exc
            raise BackendUnavailableError("dojo", f"opening {self.theorem.name!r}: {message}",
                                          OFFLINE_FIX) from exc
        except (api.DojoCrashError, api.DojoTacticTimeoutError, *ENVIRONMENT_ERRORS,
                *api.library_errors) as exc:
            raise BackendUnavailableError("dojo", f"opening {self.theorem.name!r}: {exc!r}",
                                          OFFLINE_FIX) from exc
        return self._state(initial, ())

    def _restart(self) -> None:
        """Enter a fresh Dojo after a timeout or crash; raises ``BackendUnavailableError`` if it fails."""
        self.restarts += 1
        logger.info("%s: restarting LeanDojo (restart %d)", self.theorem.name, self.restarts)
        api = self._api
        try:
            self._enter()
        except (api.DojoInitError, api.DojoCrashError, api.DojoTacticTimeoutError,
                *ENVIRONMENT_ERRORS, *api.library_errors) as exc:
            raise BackendUnavailableError("dojo", f"restarting {self.theorem.name!r}: {exc!r}",
                                          OFFLINE_FIX) from exc

    def _discard(self, reason: str | None) -> None:
        """Exit the current Dojo (if any); its states become unreachable, a new generation begins."""
        dojo, self._dojo = self._dojo, None
        if dojo is None:
            return
        if reason is not None:
            logger.warning("%s: LeanDojo %s; its process is killed", self.theorem.name, reason)
        self._generation += 1
        self._states = {}
        exit_dojo(dojo)


def dojo_arguments(factory: Any, config: LeanDojoConfig) -> dict[str, Any]:
    """Keyword arguments of ``Dojo(...)``; ``build_deps`` only where the installed version takes it
    (older releases do not)."""
    arguments: dict[str, Any] = {"timeout": math.ceil(config.timeout),
                                 "additional_imports": list(config.additional_imports)}
    parameters: Iterable[inspect.Parameter]
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        parameters = ()
    if any(p.name == "build_deps" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        arguments["build_deps"] = config.build_deps
    return arguments


def _set_read_timeout(dojo: Any, seconds: float) -> None:
    """LeanDojo fixes one pexpect timeout at spawn; set the per-request one on its pexpect child."""
    proc = getattr(dojo, "proc", None)
    if proc is not None:
        proc.timeout = seconds
