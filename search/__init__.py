"""The search engine: core types, plug-in protocols, best-first search and its drivers.

This package knows nothing of models, training or Ray; it never imports torch or a subprocess module
in its search loop.
"""

from search.best_first import BestFirstSearch, TacticFilter
from search.config import SearchConfig
from search.driver import prove, run_search
from search.errors import BackendUnavailableError, InvalidTheoremError, ProverError
from search.failure_scope import FailureScope
from search.goal_key import GoalKey, goal_key
from search.graph import Edge, Node, Outcome, SearchGraph
from search.lean_proof import lean_by_block
from search.minimise import Replay, minimise_proof
from search.overlap import OverlapStats, prove_overlapped, run_search_overlapped
from search.policy_identity import AttemptStream, fingerprint_of, for_attempt, settings_digest
from search.priority import (
    DEFAULT_PRIORITY,
    PriorityError,
    PriorityFunction,
    ScoredPath,
    node_priority,
    priority_function,
    priority_names,
    register_priority,
    unregister_priority,
)
from search.progress import ProgressReader, SearchObserver, SearchProgress
from search.proof_cache import CacheEntry, CacheStats, FailureRecord, InMemoryProofCache, ProofCache
from search.protocols import Backend, Policy, Session
from search.requests import ExpandRequest, Request, TacticRequest, VerifyRequest
from search.result import Proof, SearchResult, SearchStats, StopReason
from search.tactic_list import DEFAULT_LEAN_TACTICS, FixedTacticPolicy
from search.types import (
    Candidate,
    DojoLocator,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticState,
    TacticTimeout,
    Theorem,
    Verdict,
)

__all__ = [
    "DEFAULT_LEAN_TACTICS",
    "DEFAULT_PRIORITY",
    "AttemptStream",
    "Backend",
    "BackendUnavailableError",
    "BestFirstSearch",
    "CacheEntry",
    "CacheStats",
    "Candidate",
    "DojoLocator",
    "Edge",
    "ExpandRequest",
    "FailureRecord",
    "FailureScope",
    "FixedTacticPolicy",
    "GoalKey",
    "InMemoryProofCache",
    "InvalidTheoremError",
    "Node",
    "Outcome",
    "OverlapStats",
    "Policy",
    "PriorityError",
    "PriorityFunction",
    "ProgressReader",
    "Proof",
    "ProofCache",
    "ProofFinished",
    "ProverError",
    "Replay",
    "Request",
    "ScoredPath",
    "SearchConfig",
    "SearchGraph",
    "SearchObserver",
    "SearchProgress",
    "SearchResult",
    "SearchStats",
    "Session",
    "StopReason",
    "TacticError",
    "TacticFilter",
    "TacticRequest",
    "TacticResult",
    "TacticState",
    "TacticTimeout",
    "Theorem",
    "Verdict",
    "VerifyRequest",
    "fingerprint_of",
    "for_attempt",
    "goal_key",
    "lean_by_block",
    "minimise_proof",
    "node_priority",
    "priority_function",
    "priority_names",
    "prove",
    "prove_overlapped",
    "register_priority",
    "run_search",
    "run_search_overlapped",
    "settings_digest",
    "unregister_priority",
]
