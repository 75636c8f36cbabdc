"""The search engine: core types, plug-in protocols, best-first search and its drivers.

This package knows nothing of models, training or Ray; it never imports torch or a subprocess module
in its search loop.
"""

from search.best_first import BestFirstSearch, TacticFilter
from search.config import SearchConfig
from search.driver import prove, run_search
from search.errors import BackendUnavailableError, InvalidTheoremError, ProverError
from search.goal_key import GoalKey, goal_key
from search.graph import Edge, Node, Outcome, SearchGraph, node_priority
from search.lean_proof import lean_by_block
from search.overlap import OverlapStats, prove_overlapped, run_search_overlapped
from search.proof_cache import CacheEntry, CacheStats, InMemoryProofCache, ProofCache
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
    "Backend",
    "BackendUnavailableError",
    "BestFirstSearch",
    "CacheEntry",
    "CacheStats",
    "Candidate",
    "DojoLocator",
    "Edge",
    "ExpandRequest",
    "FixedTacticPolicy",
    "GoalKey",
    "InMemoryProofCache",
    "InvalidTheoremError",
    "Node",
    "Outcome",
    "OverlapStats",
    "Policy",
    "Proof",
    "ProofCache",
    "ProofFinished",
    "ProverError",
    "Request",
    "SearchConfig",
    "SearchGraph",
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
    "goal_key",
    "lean_by_block",
    "node_priority",
    "prove",
    "prove_overlapped",
    "run_search",
    "run_search_overlapped",
]
