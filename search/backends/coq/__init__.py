"""The Coq backend: sessions over ``coqtop -emacs``, the safety filter, ``coqc`` verification, a
tactic-list policy and the benchmark reader.

Importing this package starts nothing; Coq runs only when a session opens or a proof is verified.
"""

from search.backends.coq.axioms import LIBRARY_AXIOMS
from search.backends.coq.backend import CoqBackend, coq_version
from search.backends.coq.benchmark_file import CoqBenchmarkItem, read_coq_benchmark
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.policy import DEFAULT_COQ_TACTICS, CoqTacticPolicy
from search.backends.coq.safety import (
    check_coq_header,
    check_coq_statement,
    check_coq_tactic,
    check_coq_theorem,
    statement_name,
)
from search.backends.coq.session import CoqHandle, CoqSession
from search.backends.coq.verify import compile_and_check

__all__ = [
    "DEFAULT_COQ_TACTICS", "LIBRARY_AXIOMS", "CoqBackend", "CoqBackendConfig", "CoqBenchmarkItem",
    "CoqHandle",
    "CoqSession", "CoqTacticPolicy", "check_coq_header", "check_coq_statement", "check_coq_tactic",
    "check_coq_theorem", "compile_and_check", "coq_version", "read_coq_benchmark", "statement_name",
]
