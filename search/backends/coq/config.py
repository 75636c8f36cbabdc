"""Settings of the Coq backend: where Coq is, its time and memory limits, which axioms a proof may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.backends.coq.axioms import LIBRARY_AXIOMS
from search.backends.coq.imports import check_imports


@dataclass(frozen=True, kw_only=True)
class CoqBackendConfig:
    """Validated settings shared by every Coq session and verification of one backend.

    Times are seconds, memory is MiB. Coq's ``Timeout N`` takes whole seconds, so a tactic's own limit is
    rounded up to the next second when ``coq_timeout`` is on.
    """

    coqtop: str = field(
        default="coqtop", metadata={"help": "the coqtop executable (a name on PATH or a path)"}
    )
    coqc: str = field(
        default="coqc", metadata={"help": "the coqc executable used to verify whole proofs"}
    )
    coq_args: tuple[str, ...] = field(
        default=(),
        metadata={"help": "extra arguments for coqtop and coqc, e.g. ('-R', '/abs/theories', 'MyLib'); "
                          "paths must be absolute, Coq runs in its own directory"},
    )
    workdir: str | None = field(
        default=None,
        metadata={"help": "directory coqtop runs in (None: a fresh temporary directory per session, so "
                          "caches Coq writes, such as .lia.cache, never land in the caller's directory)"},
    )
    tactic_timeout: float = field(
        default=12.0,
        metadata={"help": "time limit of one tactic when the caller gives none, in seconds"},
    )
    coq_timeout: bool = field(
        default=True,
        metadata={"help": "wrap each tactic in Coq's own `Timeout N` (interrupts without a restart); "
                          "the process deadline backs it up either way"},
    )
    kill_grace: float = field(
        default=2.0,
        metadata={"help": "seconds past a tactic's limit before coqtop is killed, restarted and the "
                          "state replayed"},
    )
    start_timeout: float = field(
        default=60.0,
        metadata={"help": "time limit for coqtop to start and load the header and statement, in seconds"},
    )
    start_attempts: int = field(
        default=5,
        metadata={"help": "tries to start coqtop when it dies while starting (1: no retry)"},
    )
    start_backoff: float = field(
        default=0.2,
        metadata={"help": "seconds before the second start of a coqtop that died starting; doubles each try"},
    )
    replay_timeout: float = field(
        default=60.0,
        metadata={"help": "time limit of one tactic replayed to restore a state, in seconds"},
    )
    verify_timeout: float = field(
        default=120.0, metadata={"help": "time limit of one whole-proof check by coqc, in seconds"}
    )
    memory_limit_mb: int | None = field(
        default=4096,
        metadata={"help": "address-space limit of each coqtop/coqc process in MiB (None: unlimited)"},
    )
    allowed_axioms: tuple[str, ...] = field(
        default=LIBRARY_AXIOMS,
        metadata={"help": "kernel names of the axioms a verified proof may depend on (default: the "
                          "axioms the standard library, Coquelicot, Flocq, Interval, Hammer and "
                          "mathcomp declare, search.backends.coq.axioms.LIBRARY_AXIOMS; '' for none)"},
    )
    max_restarts: int = field(
        default=3,
        metadata={"help": "restarts of a dead coqtop tried in a row while restoring one state"},
    )
    printing_depth: int = field(
        default=1000,
        metadata={"help": "Coq's `Printing Depth`: deep enough that distinct goals never print "
                          "the same elided text"},
    )
    imports: tuple[str, ...] = field(
        default=(),
        metadata={"help": "`Require Import` sentences loaded after each theorem's header, in sessions and "
                          "in the verified file (the libraries of the policy's tactics; with --policy "
                          "tactics the policy's own are added)"},
    )
    keep_coqtops: int = field(
        default=4,
        metadata={"help": "idle coqtops a backend keeps at the state after a header, so that the next "
                          "theorem with that header starts without loading it (0: a fresh coqtop each)"},
    )

    def __post_init__(self) -> None:
        problems = []
        for name in ("coqtop", "coqc"):
            if not getattr(self, name).strip():
                problems.append(f"{name} must name an executable")
        for name in ("tactic_timeout", "start_timeout", "replay_timeout", "verify_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        if self.kill_grace < 0:
            problems.append(f"kill_grace must be >= 0 seconds, got {self.kill_grace}")
        if self.memory_limit_mb is not None and self.memory_limit_mb < 256:
            problems.append(f"memory_limit_mb must be >= 256 (Coq needs room), got {self.memory_limit_mb}")
        if self.start_attempts < 1:
            problems.append(f"start_attempts must be >= 1, got {self.start_attempts}")
        if self.start_backoff < 0:
            problems.append(f"start_backoff must be >= 0 seconds, got {self.start_backoff}")
        if self.max_restarts < 1:
            problems.append(f"max_restarts must be >= 1, got {self.max_restarts}")
        if self.printing_depth < 50:
            problems.append(f"printing_depth must be >= 50, got {self.printing_depth}")
        if any(not isinstance(a, str) or not a for a in self.coq_args):
            problems.append("coq_args must be non-empty strings")
        if (reason := check_imports(self.imports)) is not None:
            problems.append(reason)
        if self.keep_coqtops < 0:
            problems.append(f"keep_coqtops must be >= 0, got {self.keep_coqtops}")
        if problems:
            raise ValueError("invalid Coq backend configuration: " + "; ".join(problems))
