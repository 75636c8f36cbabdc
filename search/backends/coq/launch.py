"""Starting coqtop on one theorem: header, printing settings, statement, ``Proof.``.

Used when a session opens and every time it restarts a dead or killed coqtop. The process is closed before
any error leaves this module, so a failed start never leaks it.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import MAX_BATCH_BYTES, CoqTop
from search.backends.coq.header_freshness import check_opened_on, load_header
from search.backends.coq.safety import check_coq_theorem, header_sentences
from search.backends.process import ProcessDied, ProcessTimeout
from search.backends.start_retry import start_with_retries
from search.errors import BackendUnavailableError, InvalidTheoremError, TheoremLoadError
from search.types import Theorem

logger = logging.getLogger(__name__)

INSTALL_FIX = "install Coq: `apt-get install coq` on Debian/Ubuntu, or set coqtop/coqc to their paths"
MEMORY_FIX = ("if memory_limit_mb is low, raise it: coqtop maps about 600 MiB of address space before it "
              "loads anything")
START_TIMEOUT_FIX = "on a busy machine, raise start_timeout (--coq-start-timeout)"
# Coq's words for a library that is not installed (its message wraps lines: matched on flattened text)
_MISSING_LIBRARY = (
    re.compile(r"Cannot find a physical path bound to logical path (?P<path>[\w'.]+?)"
               r"(?: with prefix (?P<prefix>[\w'.]+?))?\.?$"),
    re.compile(r"Cannot find library (?P<path>[\w'.]+?) in loadpath"),
)
# The Debian/Ubuntu package that installs a library, by the first part of its logical path
LIBRARY_PACKAGES = {"Hammer": ("CoqHammer", "libcoq-hammer"),
                    "Coquelicot": ("Coquelicot", "libcoq-coquelicot"),
                    "Flocq": ("Flocq", "libcoq-flocq"), "Interval": ("Interval", "libcoq-interval")}


def launch(config: CoqBackendConfig, theorem: Theorem, cwd: str | None = None) -> tuple[CoqTop, int]:
    """Start coqtop (in ``cwd``) in proof mode on ``theorem``; return it and the state id after
    ``Proof.``. A coqtop that dies while starting is started again (``start_attempts`` tries in all).

    Raises ``InvalidTheoremError`` when the safety filter refuses the theorem, or Coq rejects its header
    or statement, or the statement does not open a proof named ``theorem.name``;
    ``BackendUnavailableError`` when coqtop cannot be run, or dies or gives no prompt while starting on
    every try; ``TheoremLoadError`` (a ``BackendUnavailableError`` of this theorem alone) when coqtop
    started but died loading the theorem on every try, or did not load it within ``start_timeout``.
    """
    top, _ = start_at_header(config, theorem, cwd)
    try:
        return top, enter_proof(top, config, theorem)
    except BaseException:
        top.close()
        raise


def start_at_header(config: CoqBackendConfig, theorem: Theorem,
                    cwd: str | None = None) -> tuple[CoqTop, int]:
    """Start coqtop (in ``cwd``) and load ``theorem``'s header, then the backend's ``imports`` and the
    printing settings; return it and the state id there, where every theorem with this header starts
    (``header_pool``). The whole theorem is checked by the safety filter first. A coqtop that dies while
    starting is started again (``start_attempts`` tries in all).

    Raises ``InvalidTheoremError`` (refused theorem, header or imports Coq rejects),
    ``BackendUnavailableError`` (coqtop cannot run, or dies or gives no prompt while starting on every try)
    and ``TheoremLoadError`` (coqtop died loading the header on every try, or did not load it in time).
    """
    reason = check_coq_theorem(theorem.name, theorem.header, theorem.statement) or too_long(theorem)
    if reason is not None:
        raise InvalidTheoremError(theorem.name, reason)
    if shutil.which(config.coqtop) is None:
        raise BackendUnavailableError("coq", f"coqtop not found ({config.coqtop!r})", INSTALL_FIX)
    return start_with_retries(lambda: _launch_once(config, theorem, cwd), attempts=config.start_attempts,
                              backoff=config.start_backoff, what=f"coqtop[{theorem.name}]")


def enter_proof(top: CoqTop, config: CoqBackendConfig, theorem: Theorem) -> int:
    """Open the proof of ``theorem`` on ``top``, a coqtop at the state after its header
    (``start_at_header``); return the state id after ``Proof.``. Leaves ``top`` open either way.

    Raises ``InvalidTheoremError`` (Coq rejects the statement) and ``TheoremLoadError`` (coqtop died, or
    did not load the statement within ``start_timeout``).
    """
    try:
        check_opened_on(top, theorem)
        return _enter_proof(top, config, theorem)
    except (ProcessDied, ProcessTimeout) as exc:
        raise load_error(config, theorem, "the statement", exc) from exc


def load_error(config: CoqBackendConfig, theorem: Theorem, what: str,
               exc: ProcessDied | ProcessTimeout) -> TheoremLoadError:
    """The error of a coqtop that started and then died, or ran past ``start_timeout``, loading ``what``
    of ``theorem``: no verdict on the theorem (Coq's reply refused nothing), no fault of the whole backend."""
    if isinstance(exc, ProcessTimeout):
        return TheoremLoadError("coq", theorem.name, f"coqtop did not load {what} within the start-up limit "
                                f"of {exc.seconds:g} s", START_TIMEOUT_FIX)
    fix = MEMORY_FIX if config.memory_limit_mb is not None else None
    return TheoremLoadError("coq", theorem.name, f"coqtop died loading {what}: {exc}", fix)


def too_long(theorem: Theorem) -> str | None:
    """Why the statement or a header sentence cannot go to coqtop as one command (the pipe guard of
    ``CoqTop.send``), or None. Call after the safety filter passed."""
    texts = [("the statement", theorem.statement)]
    texts += [(f"header sentence {i}", s) for i, s in enumerate(header_sentences(theorem.header), start=1)]
    for what, text in texts:
        size = len(text.encode())
        if size >= MAX_BATCH_BYTES:
            return f"{what} is {size} bytes long; coqtop takes at most {MAX_BATCH_BYTES - 1} bytes a sentence"
    return None


def _launch_once(config: CoqBackendConfig, theorem: Theorem, cwd: str | None) -> tuple[CoqTop, int]:
    top = CoqTop(config, name=f"coqtop[{theorem.name}]", cwd=cwd)
    try:
        top.start(config.start_timeout)
    except OSError as exc:
        raise BackendUnavailableError("coq", f"cannot run {config.coqtop!r}: {exc}", INSTALL_FIX) from exc
    except ProcessDied as exc:
        fix = MEMORY_FIX if config.memory_limit_mb is not None else INSTALL_FIX
        raise BackendUnavailableError("coq", f"coqtop died at start: {exc}", fix) from exc
    except ProcessTimeout as exc:
        raise BackendUnavailableError("coq", f"coqtop gave no prompt within {exc.seconds:g} s",
                                      START_TIMEOUT_FIX) from exc
    try:
        return top, _load_header(top, config, theorem)
    except (ProcessDied, ProcessTimeout) as exc:  # it started: a fault of loading this theorem
        top.close()
        raise load_error(config, theorem, "the header and the backend's imports", exc) from exc
    except BaseException:
        top.close()
        raise


def _load_header(top: CoqTop, config: CoqBackendConfig, theorem: Theorem) -> int:
    """Send the header, the backend's imports (after the header, as in the verified file) and the
    printing settings; return the state id after them. Header sentences go as the filter read them
    (``header_freshness.load_header``: comments removed, one line each, names checked)."""
    timeout = config.start_timeout
    load_header(top, theorem, config)
    failed = _failed_import(top, config)
    if failed is not None:
        sentence, error = failed
        raise missing_library(sentence, error) or _import_failure(config, theorem, sentence, error)
    before = top.state_id
    reply = top.command(f"Set Printing Depth {config.printing_depth}.", timeout)
    if reply.state_id == before:
        raise InvalidTheoremError(theorem.name, f"cannot set the printing depth: {reply.error}")
    return reply.state_id


def _import_failure(config: CoqBackendConfig, theorem: Theorem, sentence: str,
                    error: str) -> BackendUnavailableError | InvalidTheoremError:
    """The error of one of the backend's own imports that Coq refused after ``theorem``'s header: the
    backend's (every theorem would fail: a damaged install, say) when the imports fail without any header
    too, else the theorem's (its header clashes with them)."""
    alone = imports_fail_alone(config)
    if alone is not None:
        return BackendUnavailableError(
            "coq", f"the backend's import {sentence!r} fails without any theorem ({alone}): every theorem "
                   "would fail the same way",
            "check --coq-imports and --coq-coq-args; a library installed but damaged (an interrupted "
            "install) is fixed by reinstalling its package (Debian: `apt-get install --reinstall`); "
            "`prover doctor --backend coq`")
    return InvalidTheoremError(theorem.name, f"the backend's import {sentence!r}: {error}")


def _failed_import(top: CoqTop, config: CoqBackendConfig) -> tuple[str, str] | None:
    """Send the backend's imports to ``top``; the first one Coq refuses and its error, or None."""
    for sentence in config.imports:
        before = top.state_id
        reply = top.command(" ".join(sentence.split()), config.start_timeout)
        if reply.state_id == before:
            return sentence, reply.error or ""
    return None


@functools.lru_cache(maxsize=8)
def imports_fail_alone(config: CoqBackendConfig) -> str | None:
    """Why the backend's imports fail in a coqtop with no header (once per configuration and process), or
    None when they load (or coqtop cannot tell: a start-up fault is not the imports' doing)."""
    top = CoqTop(config, name="coqtop[imports]")
    try:
        top.start(config.start_timeout)
        failed = _failed_import(top, config)
        return None if failed is None else f"{failed[0]!r}: {' '.join(failed[1].split())}"
    except (OSError, ProcessDied, ProcessTimeout) as exc:
        logger.warning("could not check the backend's imports alone: %s", exc)
        return None
    finally:
        top.close()


def missing_library(sentence: str, error: str) -> BackendUnavailableError | None:
    """The error of one of the backend's own imports (``sentence``) that Coq refused with ``error``
    because the library is not installed (no theorem's fault: every theorem would fail the same way),
    naming the library and how to install it; None when Coq refused it for another reason."""
    flat = " ".join(error.split())
    match = next((m for pattern in _MISSING_LIBRARY if (m := pattern.search(flat)) is not None), None)
    if match is None:
        return None
    prefix = match.groupdict().get("prefix")
    library = f"{prefix}.{match['path']}" if prefix else match["path"]
    root = library.split(".")[0]
    if root in LIBRARY_PACKAGES:
        name, package = LIBRARY_PACKAGES[root]
        fix = f"install {name}: `apt-get install {package}` on Debian/Ubuntu"
    else:
        fix = f"install the Coq library that provides {library}"
    fix += "; `prover doctor --backend coq` lists the Coq libraries installed"
    return BackendUnavailableError(
        "coq", f"the backend's import {sentence!r} needs the Coq library {library}, which is not "
               f"installed: {flat}", fix)


def _enter_proof(top: CoqTop, config: CoqBackendConfig, theorem: Theorem) -> int:
    """Send the statement and ``Proof.`` at the state after the header."""
    timeout = config.start_timeout
    reply = top.command(" ".join(theorem.statement.split()), timeout)
    if reply.error is not None:
        raise InvalidTheoremError(theorem.name, f"statement: {reply.error}")
    if reply.proof != theorem.name:
        raise InvalidTheoremError(
            theorem.name, f"the statement did not open a proof of {theorem.name!r} (open: {reply.proof!r})"
        )
    before = top.state_id
    reply = top.command("Proof.", timeout)
    if reply.state_id == before:
        raise InvalidTheoremError(theorem.name, f"Proof.: {reply.error}")
    logger.debug("coqtop %s: %s ready at state %d", top.pid, theorem.name, reply.state_id)
    return reply.state_id
