"""Settings of the Coq backend: where Coq is, its time and memory limits, which axioms a proof may use."""

from __future__ import annotations

import os
from dataclasses import dataclass

from search.backends.coq.axioms import LIBRARY_AXIOMS
from search.backends.coq.imports import check_imports
from search.validation import MAX_SECONDS, Validated, setting


def absolute_if_relative(path: object) -> object:
    """A relative path to a program (it holds a separator) made absolute against the current directory;
    a bare name (looked up on PATH) and anything else unchanged."""
    if isinstance(path, str) and os.sep in path and not os.path.isabs(path):
        return os.path.abspath(path)
    return path


def _existing_folder(path: str) -> str | None:
    return None if os.path.isdir(path) else f"must be an existing folder, got {path!r}"


@dataclass(frozen=True, kw_only=True)
class CoqBackendConfig(Validated):
    """Validated settings shared by every Coq session and verification of one backend.

    Times are seconds, memory is MiB. Coq's ``Timeout N`` takes whole seconds, so a tactic's own limit is
    rounded up to the next second when ``coq_timeout`` is on.
    """

    config_name = "Coq backend configuration"

    coqtop: str = setting("coqtop", nonblank=True, convert=absolute_if_relative,
                          help="the coqtop executable (a name on PATH or a path; a relative path is made "
                               "absolute: Coq runs in a directory of its own)")
    coqc: str = setting("coqc", nonblank=True, convert=absolute_if_relative,
                        help="the coqc executable used to verify whole proofs (a name or a path, as coqtop)")
    coq_args: tuple[str, ...] = setting(
        (), nonblank=True,
        help="extra arguments for coqtop and coqc, e.g. ('-R', '/abs/theories', 'MyLib'); paths must be "
             "absolute, Coq runs in its own directory")
    workdir: str | None = setting(
        None, check=_existing_folder,
        help="directory coqtop runs in (None: a fresh temporary directory per session, so caches Coq "
             "writes, such as .lia.cache, never land in the caller's directory)")
    tactic_timeout: float = setting(
        12.0, above=0, max=MAX_SECONDS,
        help="time limit of one tactic when the caller gives none, in seconds")
    coq_timeout: bool = setting(
        True, help="wrap each tactic in Coq's own `Timeout N` (interrupts without a restart); the process "
                   "deadline backs it up either way")
    kill_grace: float = setting(
        2.0, min=0, max=MAX_SECONDS,
        help="seconds past a tactic's limit before coqtop is killed, restarted and the state "
             "replayed")
    start_timeout: float = setting(
        60.0, above=0, max=MAX_SECONDS,
        help="time limit for coqtop to start and load the header and statement, in seconds")
    start_attempts: int = setting(
        5, min=1, help="tries to start coqtop when it dies while starting (1: no retry)")
    start_backoff: float = setting(
        0.2, min=0, max=MAX_SECONDS,
        help="seconds before the second start of a coqtop that died starting; doubles each try")
    replay_timeout: float = setting(
        60.0, above=0, max=MAX_SECONDS,
        help="time limit of one tactic replayed to restore a state, in seconds")
    verify_timeout: float = setting(
        120.0, above=0, max=MAX_SECONDS, help="time limit of one whole-proof check by coqc, in seconds")
    memory_limit_mb: int | None = setting(
        4096, min=768, max=2**30, help="address-space limit of each coqtop/coqc process in MiB (None: "
                                       "unlimited; at least 768: coqtop maps about 600 MiB)")
    allowed_axioms: tuple[str, ...] = setting(
        LIBRARY_AXIOMS,
        help="kernel names of the axioms a verified proof may depend on (default: the axioms the standard "
             "library, Coquelicot, Flocq, Interval, Hammer and mathcomp declare, "
             "search.backends.coq.axioms.LIBRARY_AXIOMS; '' for none)")
    max_restarts: int = setting(
        3, min=1, help="restarts of a dead coqtop tried in a row while restoring one state")
    printing_depth: int = setting(
        1000, min=50, max=1_000_000,
        help="Coq's `Printing Depth`: deep enough that distinct goals never print the same "
             "elided text")
    imports: tuple[str, ...] = setting(
        (), check=check_imports,
        help="`Require Import` sentences loaded after each theorem's header, in sessions and in the "
             "verified file (the libraries of the policy's tactics; with --policy tactics the policy's own "
             "are added)")
    keep_coqtops: int = setting(
        4, min=0, help="idle coqtops a backend keeps at the state after a header, so that the next theorem "
                       "with that header starts without loading it (0: a fresh coqtop each)")
    audit_reuse: int = setting(
        64, min=0, help="compiled proofs one persistent audit coqtop checks before it is replaced (it keeps "
                        "the libraries loaded and goes back to its state after them after each proof); 0: a "
                        "fresh audit coqtop for every proof")
