"""A Coq session: one theorem in one ``coqtop -emacs`` process, any earlier state reachable.

Why ``coqtop -emacs`` and not ``coqidetop.opt``'s XML protocol: both keep one linear document, so both
reach only states on the current branch (``BackTo`` here, ``EditAt`` there) and both need a replay from
the common ancestor to reach a sibling branch. The emacs protocol gives everything else with less
machinery: one prompt per command carrying the state id and the open proof, success read off the id, goals
in Coq's own printing (no richpp XML to render back into text), and it is the protocol measured in
COQ-NOTES.md. With pipelining (below) a session runs cheap tactics as fast as the raw pipe does
(benchmarks/bench_coq.py).

State restoration. ``TacticState.handle`` is a ``CoqHandle``: the tactic path from the initial state. The
session keeps the branch coqtop is on (each tactic with the state id after it). To run a tactic at a state
it ``BackTo``s the longest common prefix of the branch and the state's path, replays the rest of the path,
then runs the tactic. Siblings cost one ``BackTo``; a jump to another branch costs the replay of the part
that differs. Commands are pipelined (see ``coqtop.py``): ``BackTo`` and the tactic go out in one write,
replays and the ``Show k.`` that print later goals in full in batches.

Start-up. A session takes its coqtop from a ``CoqtopPool`` (``header_pool.py``) at the state right after the
theorem's header, opens the statement there, and gives the coqtop back when it closes: the pool sends
``BackTo`` that state, so the next theorem with the same header starts without loading it and sees nothing
of this one. A coqtop that was killed, or did not come back cleanly, is never reused.

Failures. A tactic that fails is a ``TacticError`` with Coq's message. A tactic past its limit is stopped by
Coq's ``Timeout N`` or, failing that, by the process deadline (the limit plus ``kill_grace``, for the tactic
and the printing of the goals it made together): coqtop's process group is killed and the answer is
``TacticTimeout``. What a tactic started and left running beside coqtop (``psatz``'s ``csdp``, which Coq's
``Timeout`` does not stop) is killed once its answer came. A dead coqtop (killed from outside, out of memory)
is restarted and the state replayed before the next tactic; a tactic during which coqtop dies is retried once
on a fresh process, and only a second death makes it a ``TacticError``. Errors of the infrastructure rather
than of the tactic (a state that could not be restored, coqtop dying twice, a goal display that cannot be
read, output imitating coqtop's prompt) are ``TacticError(transient=True)``: no search records a failure on
their account (``search.best_first``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import MAX_BATCH_BYTES, CoqTop, Reply, UnframedReply
from search.backends.coq.goals import (
    Display,
    GoalDisplayError,
    canonical_pp,
    goal_text,
    parse_display,
    parse_shown_goal,
)
from search.backends.coq.header_pool import CoqtopPool, Lease
from search.backends.coq.launch import enter_proof
from search.backends.coq.safety import check_coq_tactic
from search.backends.coq.sentences import tactic_body
from search.backends.process import ProcessDied, ProcessError, ProcessTimeout
from search.backends.start_retry import start_with_retries
from search.errors import InvalidTheoremError, ProverError, TheoremLoadError
from search.types import ProofFinished, TacticError, TacticResult, TacticState, TacticTimeout, Theorem

logger = logging.getLogger(__name__)

_DEAD_ENDS = {
    Display.GAVE_UP: "no goals left, but some were given up",
    Display.SHELF: "only shelved goals remain (Qed would refuse them)",
    Display.UNFOCUSED: "the focused goals are done but unfocused goals remain",
}


@dataclass(frozen=True)
class CoqHandle:
    """Where a state is: the tactic bodies (``tactic_body``) that lead to it from the initial state."""

    path: tuple[str, ...]


class RestoreError(ProverError):
    """A state could not be reached again (replay failed, or coqtop kept dying)."""


class CoqSession:
    """One open theorem in one coqtop (the ``search.Session`` protocol). Not thread-safe: one caller at
    a time; parallel work uses one session per thread or process.

    Raises from the constructor: ``InvalidTheoremError`` (refused or rejected theorem),
    ``TheoremLoadError`` (coqtop ran, then failed on this theorem: its header, statement or first goal) and
    ``BackendUnavailableError`` (coqtop cannot run). ``run_tactic`` never raises for a tactic's behaviour.
    """

    def __init__(self, theorem: Theorem, config: CoqBackendConfig | None = None, *,
                 prefix: Sequence[str] = (), focused: bool = False, pool: CoqtopPool | None = None) -> None:
        self.theorem = theorem
        self.config = config or CoqBackendConfig()
        self._prefix = tuple(prefix)  # our own sentences after ``Proof.``: the session starts after them
        self._focused = focused  # the prefix focused one goal: closing it finishes this session's proof
        self.restarts = 0  # coqtop processes started after the first one
        self._top: CoqTop | None = None
        self._base_id = 0  # state id after `Proof.` in the current process
        self._branch: list[tuple[str, int]] = []  # tactic bodies on coqtop's branch, state id after each
        self._closed = False
        # Where coqtops come from and go back to: the backend's pool (one coqtop per header, brought back
        # to the header's state between theorems), or a private one that keeps none.
        self._own_pool = pool is None
        self._pool = CoqtopPool(self.config, keep=0) if pool is None else pool
        self._lease: Lease | None = None
        self.reused = False  # whether the first coqtop came from the pool, its header already loaded
        try:
            self._top, self._base_id = self._start()
        except BaseException:
            self.close()
            raise
        try:
            initial = self._read_state(self._top.command("Show.", self.config.start_timeout), ())
        except (ProcessError, GoalDisplayError) as exc:  # coqtop ran: a fault of this theorem's goal
            self.close()
            raise TheoremLoadError("coq", theorem.name, f"coqtop failed to show the initial goal: {exc}") \
                from exc
        except BaseException:
            self.close()
            raise
        if not isinstance(initial, TacticState):
            self.close()
            raise InvalidTheoremError(theorem.name, f"no goal to prove after Proof. ({initial})")
        self._initial = initial

    def _start(self) -> tuple[CoqTop, int]:
        """``_launch``, tried again when coqtop dies while it starts or enters the proof
        (``start_attempts`` tries in all)."""
        return start_with_retries(self._launch, attempts=self.config.start_attempts,
                                  backoff=self.config.start_backoff, what=f"coqtop[{self.theorem.name}]")

    def _launch(self) -> tuple[CoqTop, int]:
        """A coqtop from the pool at the theorem's header state, put in proof mode on the theorem, past
        the prefix; the state id there. A theorem Coq refuses leaves the coqtop fit for the pool."""
        lease = self._pool.take(self.theorem)
        try:
            state = enter_proof(lease.top, self.config, self.theorem)
            for sentence in self._prefix:
                reply = lease.top.command(sentence, self.config.start_timeout)
                if reply.state_id == state:
                    raise InvalidTheoremError(self.theorem.name, f"{sentence} failed: {reply.error}")
                state = reply.state_id
        except InvalidTheoremError:  # Coq refused it (a statement still running is a TheoremLoadError)
            self._pool.give_back(lease)
            raise
        except BaseException:
            lease.top.close()
            raise
        if self._lease is None and self.restarts == 0:
            self.reused = lease.reused
        self._lease = lease
        return lease.top, state

    @property
    def pid(self) -> int | None:
        """The current coqtop's process id (it changes when coqtop is restarted)."""
        return self._top.pid if self._top is not None else None

    def initial_state(self) -> TacticState:
        return self._initial

    def run_tactic(
        self, state: TacticState, tactic: str, *, timeout: float | None = None
    ) -> TacticResult:
        """Run ``tactic`` at ``state`` (any state this session returned); ``timeout`` in seconds."""
        if self._closed:
            raise RuntimeError(f"the session of {self.theorem.name!r} is closed")
        path = _path_of(state)
        reason = check_coq_tactic(tactic)
        if reason is not None:
            return TacticError(f"refused by the Coq safety filter: {reason}")
        body = tactic_body(tactic)
        limit = self.config.tactic_timeout if timeout is None else timeout
        for attempt in (1, 2):
            try:
                pending = self._restore(path)
                return self._apply(path, body, limit, pending)
            except RestoreError as exc:
                return TacticError(f"could not restore the state: {exc}", transient=True)
            except UnframedReply as exc:
                logger.warning("%s: %s after %r; discarding coqtop", self.theorem.name, exc, body)
                self._discard()
                return TacticError("the tactic printed text that imitates coqtop's prompt", transient=True)
            except ProcessTimeout:
                logger.warning("%s: %r ran past %g s; killing coqtop", self.theorem.name, body, limit)
                self._discard()
                return TacticTimeout(limit)
            except ProcessDied as exc:
                logger.warning("%s: coqtop died running %r (try %d): %s", self.theorem.name, body,
                               attempt, exc)
                self._discard()
                if attempt == 2:
                    return TacticError(f"coqtop died while running the tactic: {exc}", transient=True)
            except GoalDisplayError as exc:
                self._discard()  # replies to the rest of a batch of ``Show k.`` may still be unread
                return TacticError(f"unreadable goal display: {exc}", transient=True)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Give coqtop back to the pool (which brings it back to the header's state, or kills it).
        Idempotent."""
        self._closed = True
        lease, self._lease = self._lease, None
        top, self._top = self._top, None
        self._branch = []
        if lease is not None and top is lease.top:
            self._pool.give_back(lease)
        elif top is not None:
            top.close()
        if self._own_pool:
            self._pool.close()

    def __enter__(self) -> CoqSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _apply(self, path: tuple[str, ...], body: str, limit: float, pending: list[str]) -> TacticResult:
        """Run one tactic at ``path``, after the ``pending`` sentences (``BackTo``, replays) that lead
        there from coqtop's tip; all go out in one write. Then read the new state: coqtop prints the goals
        after a tactic only when they changed since it last printed them; when it printed none, ``Show.``
        asks for them.

        The step (the tactic, then the goals printed and shown) has one deadline: the tactic's limit plus
        ``kill_grace``, counted once the replays are done; past it coqtop is killed (``ProcessTimeout``).
        Coq's ``Timeout`` covers the tactic alone, not the printing of what it made, however large.
        """
        top = self._require()
        sentence = f"{body}."
        seconds = limit + self.config.kill_grace
        if self.config.coq_timeout:
            whole = max(1, math.ceil(limit))
            sentence = f"Timeout {whole} {sentence}"
            seconds = whole + self.config.kill_grace
        top.send([*pending, sentence])
        self._expect(pending)
        until = time.monotonic() + seconds
        before = top.state_id
        reply = top.read_reply(seconds)
        top.kill_strays()  # what the tactic started and Coq's Timeout left running (psatz's csdp)
        if reply.state_id == before:
            message = reply.error or "the tactic failed"
            if message.startswith("Timeout!"):
                return TacticTimeout(limit)
            return TacticError(message)
        if reply.proof != self.theorem.name:  # cannot happen past the filter; never trust it blindly
            self._discard()
            return TacticError(f"the tactic left the proof of {self.theorem.name!r}")
        self._branch.append((body, reply.state_id))
        return self._read_state(reply, (*path, body), until)

    def _read_state(self, reply: Reply, path: tuple[str, ...], until: float | None = None) -> TacticResult:
        """Turn the goals printed after a command into a result; ``Show.`` when none were printed,
        ``Show k.`` (one batch) for the later goals, which coqtop prints by their conclusion only. Every
        reply comes by ``until`` (``time.monotonic()``; ``None``: each within ``replay_timeout``)."""
        top = self._require()

        def timeout() -> float:
            if until is None:
                return self.config.replay_timeout
            return max(until - time.monotonic(), 0.001)

        view = parse_display(reply.output)
        if view.display is Display.NONE:
            view = parse_display(top.command("Show.", timeout()).output)
        if view.display is Display.FINISHED or (self._focused and view.display is Display.UNFOCUSED):
            return ProofFinished(handle=CoqHandle(path), message="No more goals.")
        if view.display is not Display.GOALS:
            return TacticError(_DEAD_ENDS.get(view.display, "coqtop printed no goals"))
        bodies = [view.body]
        later = list(range(2, view.count + 1))
        for chunk in _chunks([f"Show {k}." for k in later]):
            top.send(chunk)
            for _ in chunk:
                k = len(bodies) + 1
                bodies.append(parse_shown_goal(top.read_reply(timeout()).output, k))
        return TacticState(canonical_pp(view.header, bodies), tuple(goal_text(b) for b in bodies),
                           CoqHandle(path))

    def _restore(self, path: tuple[str, ...]) -> list[str]:
        """Prepare to reach ``path``, restarting a dead coqtop (at most ``max_restarts`` times).

        Returns the sentences still to send (see ``_goto``).
        """
        error: Exception | None = None
        for _ in range(self.config.max_restarts):
            try:
                if self._top is None or not self._top.alive:
                    self._restart()
                return self._goto(path)
            except (ProcessDied, ProcessTimeout) as exc:
                logger.warning("%s: coqtop failed while restoring a state: %s", self.theorem.name, exc)
                error = exc
                self._discard()
        raise RestoreError(f"coqtop failed {self.config.max_restarts} times while restoring: {error}")

    def _restart(self) -> None:
        self._discard()
        try:
            self._top, self._base_id = self._start()
        except ProcessError:
            raise  # coqtop died or hung again while starting: ``_restore`` tries again
        except ProverError as exc:
            raise RestoreError(f"coqtop does not start again: {exc}") from exc
        self.restarts += 1
        logger.info("%s: restarted coqtop (pid %s)", self.theorem.name, self._top.pid)

    def _goto(self, path: tuple[str, ...]) -> list[str]:
        """Plan the way from coqtop's tip to ``path``: ``BackTo`` the common prefix of the branch and
        ``path``, then replay the rest of ``path``.

        Returns those sentences unsent, to travel with the next tactic; a plan too long for one write is
        sent (in batches) and checked here instead, and the result is empty.
        """
        common = 0
        for (done, _), wanted in zip(self._branch, path, strict=False):
            if done != wanted:
                break
            common += 1
        pending = [f"{body}." for body in path[common:]]
        if common < len(self._branch):
            target = self._branch[common - 1][1] if common else self._base_id
            pending.insert(0, f"BackTo {target}.")
        if sum(len(p.encode()) + 1 for p in pending) <= MAX_BATCH_BYTES // 2:
            return pending
        for chunk in _chunks(pending):
            self._require().send(chunk)
            self._expect(chunk)
        return []

    def _expect(self, sentences: list[str]) -> None:
        """Read the replies to ``sentences`` (``BackTo``s and replayed tactics), already sent, and keep
        the branch in step; raises ``RestoreError`` (after killing coqtop, whose later input ran at the
        wrong state) when one did not do what it did before."""
        top = self._require()
        for sentence in sentences:
            before = top.state_id
            try:
                reply = top.read_reply(self.config.replay_timeout)
            except ProcessTimeout as exc:
                self._discard()
                raise RestoreError(f"{sentence!r} ran past {exc.seconds:g} s") from exc
            if sentence.startswith("BackTo "):
                target = int(sentence[len("BackTo "):-1])
                ok = reply.state_id == target
                if ok:
                    self._branch = [(b, i) for b, i in self._branch if i <= target]
            else:
                ok = reply.state_id != before
                if ok:
                    self._branch.append((sentence[:-1], reply.state_id))
            if not ok:
                self._discard()
                raise RestoreError(f"{sentence!r} failed: {reply.error}")

    def _require(self) -> CoqTop:
        if self._top is None:
            raise ProcessDied("coqtop", None, "no coqtop process")
        return self._top

    def _discard(self) -> None:
        """Kill the current coqtop (if any) and forget its branch; it never goes back to the pool."""
        top, self._top = self._top, None
        self._lease = None
        if top is not None:
            top.close()
        self._branch = []


def _chunks(sentences: list[str]) -> list[list[str]]:
    """Split sentences into batches that fit ``MAX_BATCH_BYTES``."""
    chunks: list[list[str]] = [[]]
    size = 0
    for sentence in sentences:
        length = len(sentence.encode()) + 1
        if chunks[-1] and size + length > MAX_BATCH_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(sentence)
        size += length
    return [c for c in chunks if c]


def _path_of(state: TacticState) -> tuple[str, ...]:
    handle = state.handle
    if not isinstance(handle, CoqHandle):
        raise ValueError(f"not a state of a Coq session (handle {handle!r})")
    return handle.path
