"""``prove_with_planner``: plan, prove each subgoal with the earlier ones as hypotheses, prove the main goal
with all of them, verify the assembled proof as a whole; re-plan from a stuck subgoal, a bounded number of
times.

Rounds: round 0 asks for a plan from scratch; each later round (at most ``PlannerConfig.replans``) shows
the model the previous plan, the proven prefix (to keep word for word) and the failure. Within a round,
subgoal ``i`` is searched from its own session with the subgoal budget; a subgoal whose text and earlier
subgoals are those of a subgoal proved in an earlier round is reused, not searched again. Proofs found go
to the shared ``ProofCache`` (the searches publish them under the subgoal's normalised goal), so parallel
attempts with the same subgoal skip its search. Only the backend's verdict on the whole proof makes the
theorem proved. When planning ends without a proof, a direct search of the whole theorem (with the search
settings' own budgets, within the attempt's time limit) gets its chance, unless
``PlannerConfig.direct_fallback`` is off: a planner that cannot help must not make the prover weaker.

A plan the proof assistant times out or crashes on never ends the attempt: while it is checked it is a
refused plan the model hears about (``planner.planning``); when its subgoals are opened
(``PlanNotOpened``) the round fails with that message and the next round re-plans.

Time (``PlannerConfig.time_limit``): work that looks for something (a model answer, a plan check, opening
the subgoals, a search) runs within the attempt's time left, its limits cut to it, and is skipped once
it is spent; the attempt then stops with ``TIME_BUDGET``. The check of a proof already found is not cut
below a floor, as a search's verification is not (``search.best_first``: a proof found in time is not
lost to the time its check takes): a subgoal's replay gets ``max(time left, REPLAY_FLOOR_S)``
(``planner.subgoal_search``), and the assembled proof's verification the backend's own limit (its
``verify_timeout``), even past the time limit.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from planner.client import ChatMessage, PlannerClient
from planner.client_factory import make_planner_client
from planner.config import PlannerClientConfig, PlannerConfig
from planner.lean_plan import plan_backend_for
from planner.plan import Plan, Subgoal
from planner.planning import PlanAsker
from planner.progress import PlanObserver, PlanProgress, PlanStage
from planner.prompt import initial_messages, replan_messages
from planner.protocols import PlanBackend, PlanNotOpened
from planner.result import (
    PlanAttempt,
    PlannedResult,
    PlannerStats,
    PlanRound,
    PlanStopReason,
    SubgoalOutcome,
    add_stats,
)
from planner.subgoal_search import planned_tactics, search_subgoal
from search.config import SearchConfig
from search.driver import prove
from search.progress import SearchObserver
from search.proof_cache import ProofCache
from search.protocols import Backend, Policy, Session
from search.result import Proof, SearchResult, SearchStats
from search.types import Theorem

logger = logging.getLogger(__name__)

MAIN = -1  # the index of the main goal's outcome


def prove_with_planner(
    theorem: Theorem,
    *,
    backend: Backend,
    policy: Policy,
    search_config: SearchConfig | None = None,
    planner_config: PlannerConfig | None = None,
    client: PlannerClient | None = None,
    client_config: PlannerClientConfig | None = None,
    plan_backend: PlanBackend | None = None,
    cache: ProofCache | None = None,
    clock: Callable[[], float] = time.monotonic,
    observer: SearchObserver | None = None,
    plan_observer: PlanObserver | None = None,
) -> PlannedResult:
    """Prove ``theorem`` through plans (see the module docstring). ``observer`` watches every search it
    runs, one after the other (``search.progress``); ``plan_observer`` hears where the attempt stands
    (round, subgoal k of n, subgoals proved: ``planner.progress``) each time it moves on.

    ``search_config`` holds the settings every search shares (scoring, width, tactic timeout); the planner
    config's budgets replace its ``max_expansions`` and ``time_limit``. The planner model is ``client``, or
    one built from ``client_config`` (closed at the end). ``plan_backend`` defaults to
    ``plan_backend_for(backend)``.

    Raises ``InvalidTheoremError`` (before any model is asked) when the backend refuses the theorem,
    ``BackendUnavailableError``, ``PlanningUnsupportedError`` for a backend that cannot check plans, and
    the planner client's ``PlannerError``s (endpoint down after retries, no model configured).
    """
    planner_config = planner_config or PlannerConfig()
    plan_backend = plan_backend or plan_backend_for(backend)
    backend.open(theorem).close()  # a refused theorem fails here, before the model is asked
    owned = client is None
    if client is None:
        client = make_planner_client(client_config or PlannerClientConfig())
    try:
        attempt = _PlannedAttempt(theorem, backend=backend, plan_backend=plan_backend, policy=policy,
                                  client=client, search_config=search_config or SearchConfig(),
                                  config=planner_config, cache=cache, clock=clock)
        attempt.observer = observer
        attempt.plan_observer = plan_observer
        return attempt.run()
    finally:
        if owned:
            client.close()


class _PlannedAttempt:
    """The state of one ``prove_with_planner`` call: its rounds, proofs found so far, counters, clock."""

    def __init__(self, theorem: Theorem, *, backend: Backend, plan_backend: PlanBackend, policy: Policy,
                 client: PlannerClient, search_config: SearchConfig, config: PlannerConfig,
                 cache: ProofCache | None, clock: Callable[[], float]) -> None:
        self.theorem, self.backend, self.plan_backend, self.policy = theorem, backend, plan_backend, policy
        self.search_config, self.config, self.cache, self.clock = search_config, config, cache, clock
        self.start = clock()
        self.observer: SearchObserver | None = None  # watches each search (progress displays)
        self.plan_observer: PlanObserver | None = None  # hears each step of the attempt
        self.stats = PlannerStats()
        self.search = SearchStats()
        self.proofs: dict[tuple[str, ...], tuple[str, ...]] = {}  # haves 0..i -> tactics proving i
        self.proof: Proof | None = None  # the last assembled proof (verified or not)
        self.asker = PlanAsker(client, plan_backend, theorem, config=config,
                               tactic_filter=backend.check_tactic, stats=self.stats, clock=clock,
                               expired=self._expired, time_left=self._time_left)

    def run(self) -> PlannedResult:
        rounds: list[PlanRound] = []
        for number in range(self.config.replans + 1):
            if self._expired():
                return self._finish(rounds, PlanStopReason.TIME_BUDGET)
            prefix, previous = _proven_prefix(rounds[-1]) if rounds else ((), None)
            self._report(PlanProgress(PlanStage.PLANNING, number))
            answer = self.asker.ask(self._messages(rounds), prefix=prefix, previous=previous)
            if answer.plan is None:
                rounds.append(PlanRound(number, answer.attempts, None, failure="no usable plan"))
                reason = PlanStopReason.TIME_BUDGET if self._expired() else PlanStopReason.NO_VALID_PLAN
                return self._finish(rounds, reason)
            rounds.append(self._prove_plan(number, answer.attempts, answer.plan))
            if rounds[-1].verdict is not None:
                ok = rounds[-1].verdict.ok
                return self._finish(rounds, PlanStopReason.PROVED if ok else PlanStopReason.VERIFY_FAILED)
        reason = PlanStopReason.TIME_BUDGET if self._expired() else PlanStopReason.UNPROVED
        return self._finish(rounds, reason)

    def _messages(self, rounds: list[PlanRound]) -> list[ChatMessage]:
        c = self.config
        dialect = self.asker.dialect
        if not rounds:
            return initial_messages(self.theorem, max_subgoals=c.max_subgoals, examples=c.worked_examples,
                                    dialect=dialect)
        last = rounds[-1]
        assert last.plan is not None and last.failure is not None
        return replan_messages(self.theorem, plan=last.plan, proven=len(_proven_prefix(last)[0]),
                               failure=last.failure, max_subgoals=c.max_subgoals,
                               examples=c.worked_examples, dialect=dialect)

    def _prove_plan(self, number: int, attempts: tuple[PlanAttempt, ...], plan: Plan) -> PlanRound:
        """Search every subgoal in order, then the main goal; verify the assembled proof (with the
        backend's own time limit even past the attempt's: see the module docstring)."""
        if self._expired():
            return PlanRound(number, attempts, plan, failure="the attempt's time ran out before the subgoals "
                                                             "were opened")
        outcomes: list[SubgoalOutcome] = []
        try:
            sessions = self.plan_backend.open_subgoals(self.theorem, plan.lines(),
                                                       time_left=self._time_left())
        except PlanNotOpened as exc:
            return self._not_opened(number, attempts, plan, outcomes, exc)
        try:
            size = len(plan.subgoals)
            for index, subgoal in enumerate(plan.subgoals):
                self._report(PlanProgress(PlanStage.SUBGOAL, number, index, size, proved=index))
                outcome = self._prove_subgoal(plan, index, subgoal, sessions[index])
                outcomes.append(outcome)
                if outcome.tactics is None:
                    return PlanRound(number, attempts, plan, tuple(outcomes), failure=_failure(outcome))
            self._report(PlanProgress(PlanStage.MAIN, number, subgoals=size, proved=size))
            main = self._search(MAIN, "main goal", sessions[-1], self._budget(main=True))
            if main.tactics is None:
                return PlanRound(number, attempts, plan, tuple(outcomes), main, failure=_failure(main))
        except PlanNotOpened as exc:  # a session opened on first use (Coq) failed on the plan
            return self._not_opened(number, attempts, plan, outcomes, exc)
        finally:
            for session in sessions:
                session.close()
        tactics = planned_tactics(plan.subgoals, [o.tactics or () for o in outcomes], main.tactics)
        verdict = self.backend.verify(self.theorem, tactics)
        failure = None if verdict.ok else "the assembled proof was rejected: " + "; ".join(verdict.messages)
        self.proof = Proof(tactics, verdict.proof_text or self.backend.render_proof(self.theorem, tactics),
                           verdict)
        logger.info("%s: assembled proof %s", self.theorem.name, "verified" if verdict.ok else "REJECTED")
        return PlanRound(number, attempts, plan, tuple(outcomes), main, verdict, failure)

    def _not_opened(self, number: int, attempts: tuple[PlanAttempt, ...], plan: Plan,
                    outcomes: list[SubgoalOutcome], exc: PlanNotOpened) -> PlanRound:
        logger.warning("%s: the plan's subgoals did not open: %s", self.theorem.name, exc)
        failure = f"the proof assistant failed on the plan when its subgoals were opened: {exc}"
        return PlanRound(number, attempts, plan, tuple(outcomes), failure=failure)

    def _prove_subgoal(self, plan: Plan, index: int, subgoal: Subgoal, session: Session) -> SubgoalOutcome:
        key = tuple(plan.lines()[: index + 1])
        if key in self.proofs:
            self.stats.subgoals_reused += 1
            return SubgoalOutcome(index, subgoal.text, session.initial_state().pp, "reused", self.proofs[key])
        outcome = self._search(index, subgoal.text, session, self._budget(main=False))
        if outcome.tactics is not None:
            self.proofs[key] = outcome.tactics
            self.stats.subgoals_proved += 1
        else:
            self.stats.subgoals_failed += 1
        return outcome

    def _search(self, index: int, text: str, session: Session, config: SearchConfig | None) -> SubgoalOutcome:
        if config is None:  # no time left: the session is not opened (no coqtop starts) and shows no goal
            return SubgoalOutcome(index, text, "", "time_budget")
        goal = session.initial_state().pp
        self.stats.searches += 1
        check = self.backend.check_tactic
        if index != MAIN:  # a plan backend may restrict the tactics of its subgoals' proofs
            check = getattr(self.plan_backend, "check_subgoal_tactic", check)
        found = search_subgoal(session, policy=self.policy, config=config, tactic_filter=check,
                               cache=self.cache, observer=self.observer, time_left=self._time_left,
                               clock=self.clock)
        add_stats(self.search, found.stats)
        logger.info("%s: %s: %s after %d expansions", self.theorem.name, text, found.stop_reason,
                    found.stats.expansions)
        return SubgoalOutcome(index, text, goal, found.stop_reason, found.tactics, found.stats, found.graph)

    def _budget(self, *, main: bool) -> SearchConfig | None:
        """The search settings of a subgoal or the main goal, within the time left (``None``: none left)."""
        c = self.config
        limit = c.main_time_limit if main else c.subgoal_time_limit
        left = self._time_left()
        if left is not None:
            if left <= 0:
                return None
            limit = left if limit is None else min(limit, left)
        return dataclasses.replace(self.search_config, time_limit=limit,
                                   max_expansions=c.main_expansions if main else c.subgoal_expansions)

    def _report(self, progress: PlanProgress) -> None:
        if self.plan_observer is not None:
            self.plan_observer(progress)

    def _time_left(self) -> float | None:
        limit = self.config.time_limit
        return None if limit is None else limit - (self.clock() - self.start)

    def _expired(self) -> bool:
        left = self._time_left()
        return left is not None and left <= 0

    def _finish(self, rounds: list[PlanRound], reason: PlanStopReason) -> PlannedResult:
        self.stats.rounds = len(rounds)
        logger.info("%s: planning ended: %s after %d round(s)", self.theorem.name, reason.value, len(rounds))
        proof = self.proof if reason is PlanStopReason.PROVED else None
        direct = None
        if reason is not PlanStopReason.PROVED:
            direct = self._direct_search()
            if direct is not None and direct.proved:
                proof = direct.proof
        self.stats.wall_seconds = self.clock() - self.start
        return PlannedResult(self.theorem.name, reason, proof, tuple(rounds), self.stats, self.search, direct)

    def _direct_search(self) -> SearchResult | None:
        """The fallback search of the whole theorem, or ``None`` when it is off or no time is left."""
        if not self.config.direct_fallback:
            return None
        config = self.search_config
        left = self._time_left()
        if left is not None:
            if left <= 0:
                return None
            limit = left if config.time_limit is None else min(config.time_limit, left)
            config = dataclasses.replace(config, time_limit=limit)
        self._report(PlanProgress(PlanStage.DIRECT))
        result = prove(self.theorem, backend=self.backend, policy=self.policy, config=config,
                       cache=self.cache, observer=self.observer)
        add_stats(self.search, result.stats)
        logger.info("%s: direct search after planning: %s after %d expansions", self.theorem.name,
                    result.stop_reason.value, result.stats.expansions)
        return result


def _proven_prefix(last: PlanRound) -> tuple[tuple[Subgoal, ...], Plan | None]:
    """The subgoals of ``last``'s plan proved in a row from the first, and the plan."""
    if last.plan is None:
        return (), None
    proven = 0
    for outcome in last.subgoals:
        if outcome.tactics is None:
            break
        proven += 1
    return last.plan.subgoals[:proven], last.plan


def _failure(outcome: SubgoalOutcome) -> str:
    expansions = 0 if outcome.stats is None else outcome.stats.expansions
    return f"its search stopped ({outcome.stop_reason}) after {expansions} expanded states"
