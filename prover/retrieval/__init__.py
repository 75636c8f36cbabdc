"""Retrieval over traced proofs (Tactician-style k-NN): the index, the policy, and mixtures of policies.

Importing this package starts nothing; an index is built when a policy is made.
"""

from prover.retrieval.index import Entry, Neighbour, RetrievalIndex
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.names import map_tactic
from prover.retrieval.policy import RetrievalConfig, RetrievalPolicy, load_index
from prover.retrieval.state_text import Goal, features, parse_goal

__all__ = ["Entry", "Goal", "MixturePolicy", "Neighbour", "RetrievalConfig", "RetrievalIndex",
           "RetrievalPolicy", "features", "load_index", "map_tactic", "parse_goal"]
