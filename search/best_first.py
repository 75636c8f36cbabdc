"""Best-first proof search as a state machine.

The search never calls a model or a proof assistant. It hands out requests (``requests()``) and takes the
answers back (``on_proposals``, ``on_tactic_result``, ``on_verdict``); drivers (``search.driver``,
``search.overlap``, the Ray workers) serve them synchronously, with overlap, or batched across many
searches. This keeps the algorithm exact and
testable without Lean, as in Meta's HTPS/Evariste prover.

Order: the open state with the highest priority (``SearchConfig.priority``, a function named in
``search.priority``'s registry) is expanded first; ties go to the state found first. With
``expansion_width == 1`` a state is expanded only after every tactic of the previous expansion came back,
which is BFS-Prover-V2's order exactly.

Recorded failures (the proof cache). A search that ends ``EXHAUSTED`` records its expanded states as
failed, so that later searches skip them, only when the failure cannot depend on anything but the states
themselves. It records nothing when (a) any proof it found was rejected by whole-proof verification (a
rejection can depend on the path that reached the state: a verification timeout with a long prefix, a
verifier process that failed), or (b) any tactic met an infrastructure error (``TacticError.transient``:
a crashed process, a state that could not be restored), or (c) it skipped a state on a failure already
recorded, or it ran under a depth limit. The rule is the same for every driver: failures are published
only by the search itself, when it stops.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from search.config import SearchConfig
from search.failure_scope import FailureScope
from search.goal_key import GoalKey, context_tag, goal_key
from search.graph import Node, Outcome, SearchGraph
from search.priority import priority_function
from search.proof_cache import CacheEntry, ProofCache
from search.requests import ExpandRequest, Request, TacticRequest, VerifyRequest
from search.result import SearchStats, StopReason
from search.types import (
    Candidate,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticState,
    TacticTimeout,
    Verdict,
)

TacticFilter = Callable[[str], "str | None"]
logger = logging.getLogger(__name__)


class BestFirstSearch:
    """One best-first search over one theorem.

    ``tactic_filter`` returns the reason a tactic must not reach the proof assistant, or ``None``.
    ``cache`` is consulted for every new state (a cached proof is verified as part of the whole proof
    before it counts) and receives this search's verified proofs and, after an exhaustive failure that
    depends on nothing but the states (module doc), its failed states. Failures are shared only under
    ``policy_fingerprint`` (``search.policy_identity``; ``None``: this search neither skips nor records
    failures): a state is skipped when the cache holds a failure found with the same fingerprint and at
    least this search's budget. The root is never
    skipped, so every search (every attempt of pass@N) expands at least its own theorem. ``context`` is
    the theorem's header: cache entries are shared only between searches under the same one.
    ``clock`` returns seconds; it is injectable so that tests control time.
    """

    def __init__(
        self,
        root: TacticState,
        *,
        config: SearchConfig,
        tactic_filter: TacticFilter | None = None,
        cache: ProofCache | None = None,
        policy_fingerprint: str | None = None,
        context: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.graph = SearchGraph.with_root(root, config.alpha, priority_function(config.priority))
        self.stats = SearchStats()
        self.stop_reason: StopReason | None = None
        self.proof: tuple[str, ...] | None = None
        self.verdict: Verdict | None = None
        self._filter = tactic_filter
        self._cache = cache
        self._scope = FailureScope.of(config, policy_fingerprint) if policy_fingerprint else None
        self._context_tag = context_tag(context)  # once: every new state's cache key starts with it
        self._shortest_timeout = config.tactic_timeout
        self._transient_errors = 0  # infrastructure errors met: this search's failures are not recorded
        self._clock = clock
        self._start = clock()
        self._open: list[tuple[float, int]] = []
        self._outstanding: dict[int, int] = {}  # expanding node -> answers still due (-1: policy)
        self._verifying = 0
        self._outbox: list[Request] = []
        self._admit(self.graph.root)

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def elapsed(self) -> float:
        return self._clock() - self._start

    def frontier(self) -> tuple[int, float | None]:
        """How many states wait to be expanded, and the best priority among them (``None`` if none)."""
        if not self._open:
            return 0, None
        return len(self._open), self.graph.nodes[self._open[0][-1]].priority

    def requests(self) -> list[Request]:
        """Hand out the work that is ready now; each request is handed out exactly once.

        Returns an empty list only when the search is done (``stop_reason`` is then set) or waits for
        answers to requests handed out earlier. Once the time budget is spent, only the checks of proofs
        already found are handed out (a proof found in time is not lost to the time its check takes);
        the search stops on the time budget when none is left.
        """
        if self.stop_reason is not None:
            return []
        remaining = self.remaining_time()
        if remaining is not None and remaining <= 0:
            if not self._verifying:
                return self._stop(StopReason.TIME_BUDGET)
            checks: list[Request] = [r for r in self._outbox if isinstance(r, VerifyRequest)]
            self._outbox = []
            return checks
        self._schedule_expansions()
        if not self._outbox and not self._outstanding and not self._verifying:
            budget_hit = self.config.max_expansions is not None and self._open
            return self._stop(StopReason.EXPANSION_BUDGET if budget_hit else StopReason.EXHAUSTED)
        out, self._outbox = self._outbox, []
        return out

    def on_proposals(
        self, request: ExpandRequest, candidates: Sequence[Candidate], seconds: float = 0.0
    ) -> None:
        """Take the policy's tactics for an expanded state; ``seconds`` is the model time spent."""
        if self.stop_reason is not None:
            return
        self.stats.model_seconds += seconds
        node = self.graph.nodes[request.node]
        timeout = self.capped_timeout(self.config.tactic_timeout)
        issued = 0
        seen: set[str] = set()
        for candidate in candidates[: request.n]:
            tactic = candidate.tactic
            if tactic in seen:
                continue
            seen.add(tactic)
            reason = self._filter(tactic) if self._filter is not None else None
            if not math.isfinite(candidate.logprob):  # no priority can rank it (a model's -inf or NaN)
                reason = f"the policy gave it a log-prob that is not a finite number ({candidate.logprob})"
            if reason is not None:
                self.stats.filtered += 1
                self.graph.add_failure(node, tactic, candidate.logprob, Outcome.FILTERED, reason)
                continue
            self._outbox.append(TacticRequest(node.id, node.state, tactic, candidate.logprob, timeout))
            issued += 1
        self._settle(node.id, issued)

    def on_tactic_result(
        self, request: TacticRequest, result: TacticResult, seconds: float = 0.0
    ) -> None:
        """Take the proof assistant's answer to one tactic; ``seconds`` is the time it took."""
        if self.stop_reason is not None:
            return
        stats = self.stats
        stats.tactic_calls += 1
        stats.tactic_seconds += seconds
        node = self.graph.nodes[request.node]
        if isinstance(result, TacticState):
            child = self.graph.add_state(node, request.tactic, request.logprob, result)
            if child is None:
                stats.duplicate_states += 1
            else:
                stats.new_states += 1
                self._admit(child)
        elif isinstance(result, ProofFinished):
            stats.proofs_found += 1
            self._verifying += 1
            tactics = (*self.graph.path(node.id), request.tactic)
            self._outbox.insert(0, VerifyRequest(node.id, request.tactic, request.logprob, tactics, False))
        elif isinstance(result, TacticError):
            stats.errors += 1
            if result.transient:
                self._transient_errors += 1
            self.graph.add_failure(node, request.tactic, request.logprob, Outcome.ERROR, result.message)
        elif isinstance(result, TacticTimeout):
            stats.timeouts += 1
            # the limit the tactic really ran under: a driver may cut it again when the tactic starts
            self._shortest_timeout = min(self._shortest_timeout, request.timeout, result.seconds)
            self.graph.add_failure(node, request.tactic, request.logprob, Outcome.TIMEOUT,
                                   f"timed out after {result.seconds:g} s")
        else:
            raise TypeError(f"not a tactic result: {result!r}")
        self._settle(node.id, -1)

    def on_verdict(self, request: VerifyRequest, verdict: Verdict, seconds: float = 0.0) -> None:
        """Take the result of whole-proof verification. Only an ``ok`` verdict ends the search."""
        if self.stop_reason is not None:
            return
        self.stats.verify_seconds += seconds
        self._verifying -= 1
        node = self.graph.nodes[request.node]
        if verdict.ok:
            self.graph.add_failure(node, request.tactic, request.logprob, Outcome.PROOF, None,
                                   cached=request.cached)
            self.proof = request.tactics
            self.verdict = verdict
            self._publish_proof(node, request.tactics)
            self._stop(StopReason.PROVED)
            return
        self.stats.proofs_rejected += 1
        self.graph.add_failure(node, request.tactic, request.logprob, Outcome.UNVERIFIED,
                               "; ".join(verdict.messages) or "verification failed", cached=request.cached)
        if request.cached:
            self._push(node)  # the cached proof did not carry over: search this state ourselves

    def _schedule_expansions(self) -> None:
        config = self.config
        while self._open and len(self._outstanding) < config.expansion_width:
            if config.max_expansions is not None and self.stats.expansions >= config.max_expansions:
                return
            _, node_id = heapq.heappop(self._open)
            node = self.graph.nodes[node_id]
            self.graph.mark_expanded(node)
            self.stats.expansions += 1
            self._outstanding[node_id] = -1
            self._outbox.append(ExpandRequest(node_id, node.state, config.tactics_per_node))

    def _settle(self, node_id: int, delta: int) -> None:
        """Count answers due for an expanding node: ``delta`` >= 0 sets it after proposals, -1 counts
        one tactic answer."""
        due = delta if delta >= 0 else self._outstanding[node_id] - 1
        if due == 0:
            del self._outstanding[node_id]
        else:
            self._outstanding[node_id] = due

    def _admit(self, node: Node) -> None:
        """A new state enters the search: through the cache if there is one, else onto the open list."""
        if self._cache is not None:
            key = self._key(node)
            entry = self._cache.lookup(key.key)
            if entry is not None and entry.proof is not None:
                self.stats.cache_hits += 1
                suffix = key.from_canonical(entry.proof)
                tactics = (*self.graph.path(node.id), *suffix)
                self._verifying += 1
                self._outbox.insert(0, VerifyRequest(node.id, "; ".join(suffix), 0.0, tactics, True))
                return
            if entry is not None and self._skips(node, entry):
                self.stats.cache_skips += 1
                return
        self._push(node)

    def _skips(self, node: Node, entry: CacheEntry) -> bool:
        """Whether a cached failure stands for ``node`` in this search (never for the root)."""
        return (node.parent is not None and self._scope is not None and self.config.skip_failed_goals
                and entry.failed_under(self._scope))

    def _publish_proof(self, last: Node, tactics: tuple[str, ...]) -> None:
        """Every state on the proof's path is proved by the rest of the proof."""
        if self._cache is None:
            return
        node: Node | None = last
        while node is not None:
            key = self._key(node)
            self._cache.publish_proof(key.key, key.to_canonical(tactics[node.depth:]))
            node = self.graph.nodes[node.parent] if node.parent is not None else None

    def _publish_failures(self) -> None:
        """After an exhaustive failure without a depth limit, every expanded state is a failure of this
        policy under this budget; where a tactic timed out under a limit cut to the time left
        (``capped_timeout``), that shorter limit is the budget's tactic limit. Nothing is published after
        a rejected proof or an infrastructure error (see the module doc)."""
        if (self._cache is None or self._scope is None or self.config.max_depth is not None
                or self.stats.cache_skips):
            return
        if self.stats.proofs_rejected or self._transient_errors:
            logger.info("exhausted, but failures are not recorded: %d proof(s) rejected by verification, "
                        "%d infrastructure error(s)", self.stats.proofs_rejected, self._transient_errors)
            return
        scope = replace(self._scope, tactic_timeout=min(self._scope.tactic_timeout, self._shortest_timeout))
        for node in self.graph.nodes:
            if node.expanded:
                self._cache.publish_failure(self._key(node).key, scope, self.stats.expansions)

    def _key(self, node: Node) -> GoalKey:
        """``node``'s cache key: its goal key, under this search's header."""
        key = goal_key(node.state.pp)
        return GoalKey(self._context_tag + key.key, key.names, key.projections)

    def _push(self, node: Node) -> None:
        if self.config.max_depth is not None and node.depth >= self.config.max_depth:
            return
        heapq.heappush(self._open, (-node.priority, node.id))

    def capped_timeout(self, timeout: float) -> float:
        """``timeout`` cut to the time the budget has left now (at least a millisecond)."""
        remaining = self.remaining_time()
        return timeout if remaining is None else max(min(timeout, remaining), 1e-3)

    def remaining_time(self) -> float | None:
        """Seconds left of the time budget (negative once it is spent); ``None`` without one."""
        if self.config.time_limit is None:
            return None
        return self.config.time_limit - (self._clock() - self._start)

    def _stop(self, reason: StopReason) -> list[Request]:
        self.stop_reason = reason
        if reason is StopReason.EXHAUSTED:
            self._publish_failures()
        self.stats.wall_seconds = self.elapsed()
        self._outbox = []
        return []
