"""Lean 4 backends: the REPL process pool and the LeanDojo adapter, whole-proof verification, tactic
and theorem safety. Importing this package starts nothing and does not import ``lean_dojo``."""

from search.backends.lean.dojo import LeanDojoBackend
from search.backends.lean.dojo_config import LeanDojoConfig
from search.backends.lean.pool import ReplPool
from search.backends.lean.repl_backend import LeanReplBackend
from search.backends.lean.repl_config import LeanReplConfig
from search.backends.lean.repl_messages import (
    CommandResponse,
    Message,
    Pos,
    ReplError,
    ReplProtocolError,
    ReplResponse,
    Severity,
    Sorry,
    TacticResponse,
    parse_response,
)
from search.backends.lean.repl_outcome import tactic_outcome
from search.backends.lean.repl_process import HeaderError, MemoryLimitExceeded, ReplProcess
from search.backends.lean.repl_session import LeanReplSession, ReplStateRef
from search.backends.lean.repl_verify import ALLOWED_AXIOMS
from search.backends.lean.safety import check_lean_tactic, check_lean_theorem

__all__ = [
    "ALLOWED_AXIOMS", "CommandResponse", "HeaderError", "LeanDojoBackend", "LeanDojoConfig",
    "LeanReplBackend", "LeanReplConfig",
    "LeanReplSession", "MemoryLimitExceeded", "Message", "Pos", "ReplError", "ReplPool", "ReplProcess",
    "ReplProtocolError", "ReplResponse", "ReplStateRef", "Severity", "Sorry", "TacticResponse",
    "check_lean_tactic", "check_lean_theorem", "parse_response", "tactic_outcome",
]
