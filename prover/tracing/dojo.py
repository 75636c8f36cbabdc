"""The same rows from Lean: a LeanDojo-traced repository turned into units, offline.

Each traced file is a unit; each traced theorem with a tactic proof gives one row per traced tactic:
``state_before``/``state_after`` are LeanDojo's pretty-printed states, which are exactly the ``pp`` the
project's Lean backends show a policy (REPL goals joined by blank lines, ``Dojo``'s ``TacticState.pp``).
``no goals`` after a tactic is an empty ``state_after`` and ``closed``. Theorems whose proof gives up a
goal (the words the Lean tactic filter refuses as giving up: ``sorry``, ``admit``, ``stop``, ``sorryAx``,
``apply?``) are skipped as ``admitted``; term-mode proofs have no tactics (``no-tactics``).

**Loading without the network.** ``TracedRepo.load_from_disk`` builds a ``LeanGitRepo`` (which probes
LeanDojo's remote cache and copies the whole work tree, ``.lake`` included, into its cache) and calls
``get_dependencies`` (≈20 GitHub API calls); it fails offline. This module reads each
``.lake/build/ir/**/*.trace.xml`` with LeanDojo's ``TracedFile.from_xml(root_dir, xml_path, repo)`` and
attaches it to a ``TracedRepo`` with no dependencies (``{}``) and no file graph; ``repo`` is a plain
``RepoName`` (url, commit), since nothing read here needs more of a ``LeanGitRepo``. A file is loaded
only when it is converted, so a rerun does not parse the files it skips.

**What is converted.** Only the repository's own files (``.lake/build/ir``). The traces of its dependencies
(``.lake/packages/**``: all of Mathlib for a Mathlib project) are skipped, and their count is logged: they
belong to other corpora, which are traced on their own (convert the package's folder).

**The corpus name** (the rows' ``source``; resuming is keyed on (source, unit)): ``--source`` when given,
else the folder's ``git remote get-url origin`` (credentials removed, ``.git`` and ssh forms normalised to
``https://host/owner/repo``) followed by ``@`` and its ``HEAD`` commit, so the same trace converted from
any folder is the same corpus. Without a remote URL (no git repository, no ``origin``, or ``origin`` a
local path) ``--source`` is required. Units are the ``.lean`` paths relative to the repository's root.

Only the traced objects' documented attributes are used (``TracedFile.path`` / ``get_traced_theorems()``,
``TracedTheorem.theorem.full_name`` / ``start`` / ``get_traced_tactics()``, ``TracedTactic.tactic`` /
``state_before`` / ``state_after`` / ``start``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import socket
import subprocess
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import Progress

from prover.theorem_input import InputError
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.runner import TraceSummary, run_counts, summarize
from prover.tracing.schema import StepRow
from search.backends.lean.safety_lexer import Kind, LexError, lex
from search.backends.lean.safety_words import SORRY_WORDS, token_word
from search.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

NO_GOALS = "no goals"
BUILD_IR = Path(".lake/build/ir")  # LeanDojo 4.x: the repository's own traces
PACKAGES = Path(".lake/packages")  # its dependencies' sources and traces
TRACE_SUFFIX = ".trace.xml"
SOURCE_FIX = "give --source NAME (for example https://github.com/OWNER/REPO@COMMIT)"
_GIT_TIMEOUT = 60
_WORD = re.compile(r"[\w'.?]+")


class DojoTraceError(InputError):
    """The folder is no LeanDojo-traced repository, or its corpus cannot be named."""


# --- giving up ----------------------------------------------------------------------------------------

def giving_up_word(tactic: str) -> str | None:
    """The first word of ``tactic`` that gives up a goal (the Lean tactic filter's ``SORRY_WORDS``, and
    ``sorryAx`` under any namespace), or ``None``. Comments and string literals do not count."""
    try:
        words = [token_word(t) for t in lex(tactic) if t.kind is Kind.IDENT]
    except LexError:  # Lean compiled it, so this is unexpected: fall back to plain words
        words = _WORD.findall(tactic)
    for word in words:
        if word in SORRY_WORDS or word.rsplit(".", 1)[-1] == "sorryAx":
            return word
    return None


# --- conversion ---------------------------------------------------------------------------------------

def dojo_unit(traced_file: Any, *, source: str, trace: str) -> tuple[UnitRecord, list[StepRow]]:
    """The record and rows of one ``lean_dojo.TracedFile``."""
    started = time.monotonic()
    unit = Path(traced_file.path).as_posix()
    rows: list[StepRow] = []
    proofs: list[ProofRecord] = []
    for theorem in traced_file.get_traced_theorems():
        name = theorem.theorem.full_name
        line = int(theorem.start.line_nb)
        tactics = theorem.get_traced_tactics()
        if not tactics:
            proofs.append(ProofRecord(name, line, "no-tactics"))
            continue
        word = next((w for w in map(giving_up_word, (t.tactic for t in tactics)) if w), None)
        if word is not None:
            detail = f"`{word}` in the proof gives up a goal"
            proofs.append(ProofRecord(name, line, "admitted", detail=detail))
            continue
        for step, tactic in enumerate(tactics):
            after = tactic.state_after.strip()
            closed = after == NO_GOALS
            rows.append(StepRow(source, "lean", unit, name, int(tactic.start.line_nb),
                                int(tactic.start.column_nb), step, tactic.state_before, tactic.tactic,
                                "" if closed else tactic.state_after, closed, trace))
        proofs.append(ProofRecord(name, line, "traced", len(tactics)))
    record = UnitRecord(source, unit, trace, None, len(rows), tuple(proofs),
                        seconds=round(time.monotonic() - started, 3))
    return record, rows


# --- the repository: its units and its corpus name ----------------------------------------------------

@dataclass(frozen=True)
class RepoName:
    """Stands for LeanDojo's ``LeanGitRepo`` in the loaded objects (``Theorem.repo``): building a real one
    probes the network and copies the work tree into LeanDojo's cache."""

    url: str
    commit: str

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DojoUnit:
    """One traced file of the repository: its ``.lean`` path relative to the root (the unit's name), its
    ``*.trace.xml`` and the ``.lean`` file's size in bytes (``--limit`` takes the largest)."""

    unit: str
    xml: Path
    size: int


@dataclass(frozen=True)
class DojoRepo:
    """A LeanDojo-traced repository found on disk: nothing is parsed yet."""

    root: Path
    source: str
    units: tuple[DojoUnit, ...]
    dependency_files: int = 0  # traces under .lake/packages, not converted

    @property
    def repo_name(self) -> RepoName:
        url, _, commit = self.source.rpartition("@")
        return RepoName(url or self.source, commit if url else "")


def find_traced_repo(path: str | Path, *, source: str | None = None) -> DojoRepo:
    """The repository's own traced files and its corpus name; raises ``DojoTraceError`` (bad input)."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise DojoTraceError(f"{path}: no such folder")
    build = root / BUILD_IR
    units = []
    for xml in sorted(build.glob(f"**/*{TRACE_SUFFIX}")):
        relative = xml.relative_to(build).as_posix()
        unit = relative[: -len(TRACE_SUFFIX)] + ".lean"
        lean = root / unit
        units.append(DojoUnit(unit, xml, lean.stat().st_size if lean.is_file() else 0))
    dependencies = sum(1 for _ in (root / PACKAGES).glob(f"**/*{TRACE_SUFFIX}"))
    if not units:
        found = f" (only {dependencies} of its dependencies, under {PACKAGES})" if dependencies else ""
        raise DojoTraceError(f"{path}: not a LeanDojo-traced repository: no {BUILD_IR}/**/*{TRACE_SUFFIX} "
                             f"files{found}; trace it with LeanDojo first")
    if dependencies:
        logger.info("%s: %d traced files of its dependencies (%s) are not converted: convert a package's "
                    "folder on its own", path, dependencies, PACKAGES)
    return DojoRepo(root, source or repo_source(root), tuple(units), dependencies)


def repo_source(root: Path) -> str:
    """``URL@COMMIT`` from the folder's ``origin`` remote and ``HEAD``; raises ``DojoTraceError``."""
    remote = _git(root, "remote", "get-url", "origin")
    url = public_url(remote) if remote else None
    if url is None:
        why = f"its origin remote is {remote!r}, not a URL" if remote else "it has no git origin remote"
        raise DojoTraceError(f"{root}: cannot name the corpus ({why}); {SOURCE_FIX}")
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        raise DojoTraceError(f"{root}: cannot name the corpus (no HEAD commit); {SOURCE_FIX}")
    return f"{url}@{commit}"


def public_url(remote: str) -> str | None:
    """A git remote as ``https://host/owner/repo``: no credentials, no ``.git``; scp-like and ssh remotes
    become https. ``None`` for a local path (``/x``, ``file://``), which names no corpus."""
    remote = remote.strip()
    scp = re.fullmatch(r"(?:[^@/:]+@)?([\w.-]+):(?!//)(.+)", remote)
    if scp and "://" not in remote:
        remote = f"ssh://{scp.group(1)}/{scp.group(2)}"
    try:
        parts = urlsplit(remote)
        port = parts.port
    except ValueError:  # not a URL (a bad port, brackets)
        return None
    if parts.scheme in ("", "file") or not parts.hostname:
        return None
    keep_port = parts.scheme in ("http", "https")  # an ssh port means nothing once it is https
    scheme = parts.scheme if keep_port else "https"
    host = parts.hostname + (f":{port}" if port and keep_port else "")
    repo_path = parts.path.strip("/").removesuffix(".git")
    return f"{scheme}://{host}/{repo_path}"


def _git(root: Path, *args: str) -> str | None:
    """A git command's output in ``root``, or ``None`` when it fails (no repository, no remote)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("git %s in %s: %r", " ".join(args), root, exc)
        return None
    if done.returncode != 0:
        logger.debug("git %s in %s: %s", " ".join(args), root, done.stderr.strip())
        return None
    return done.stdout.strip() or None


# --- loading through LeanDojo -------------------------------------------------------------------------

Loader = Callable[[DojoRepo, DojoUnit], Any]


def lean_dojo_loader() -> Loader:
    """Reads one unit with ``lean_dojo.TracedFile.from_xml``, offline (see the module's docstring).

    lean_dojo is imported as the dojo backend imports it, so that what its import can do wrong (no git,
    no package, a network call) is the backend's ``BackendUnavailableError``, never a raw traceback."""
    from search.backends.lean.dojo_api import load_dojo_api
    from search.backends.lean.dojo_config import LeanDojoConfig

    api = load_dojo_api(LeanDojoConfig())
    from lean_dojo import TracedFile, TracedRepo

    network = _network_errors() + api.library_errors

    def load(repo: DojoRepo, unit: DojoUnit) -> Any:
        name = repo.repo_name
        try:
            traced_file = TracedFile.from_xml(repo.root, unit.xml, name)
            # get_traced_theorems() asks the file's TracedRepo which repository a file belongs to
            traced_file.traced_repo = TracedRepo(name, {}, repo.root, [traced_file], None)
        except network as exc:  # nothing here should reach the network: if it does, it is the backend's
            raise BackendUnavailableError("dojo", f"loading {unit.xml} needed the network: {exc!r}",
                                          "LeanDojo traces are read offline; report this") from exc
        return traced_file

    return load


def _network_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [urllib.error.URLError, ConnectionError, socket.gaierror, socket.timeout]
    with contextlib.suppress(ImportError, AttributeError):
        errors.append(importlib.import_module("requests").RequestException)
    return tuple(errors)


# A damaged, stale or hand-edited trace: the unit stops early (named in the summary; a rerun retries it).
# AssertionError: LeanDojo's checks (tag, path, the .lean file's md5 at trace time); SyntaxError: lxml's
# XMLSyntaxError; LookupError: an unknown node or attribute; RuntimeError: Windows line endings.
_BAD_TRACE = (AssertionError, OSError, SyntaxError, LookupError, ValueError, TypeError, RuntimeError)


def trace_dojo(repo: DojoRepo, dataset: Dataset, *, trace: str, load: Loader | None = None,
               limit: int | None = None, console: Console | None = None) -> TraceSummary:
    """Convert every unit not yet in ``dataset`` (of the ``limit`` largest, when given); returns the
    dataset's summary, with what this call converted (``TraceSummary.run``). A unit whose trace cannot
    be read is written with its error (stopped early). ``load`` defaults to ``lean_dojo_loader()``."""
    load = load or lean_dojo_loader()
    chosen = list(repo.units)
    if limit is not None:
        chosen = sorted(chosen, key=lambda u: (-u.size, u.unit))[:limit]
    todo = sorted((u for u in chosen if not dataset.is_done(repo.source, u.unit)), key=lambda u: u.unit)
    written: list[UnitRecord] = []
    with Progress(console=console or Console(stderr=True)) as progress:
        bar = progress.add_task("converting", total=len(todo))
        for unit in todo:
            started = time.monotonic()
            try:
                record, rows = dojo_unit(load(repo, unit), source=repo.source, trace=trace)
            except _BAD_TRACE as exc:  # never BackendUnavailableError: that is no OSError, it stops the run
                error = f"{unit.xml.relative_to(repo.root)}: cannot read the trace: {exc!r}"
                logger.warning("%s", error)
                record, rows = UnitRecord(repo.source, unit.unit, trace, None, 0, error=error,
                                          seconds=round(time.monotonic() - started, 3)), []
            written.append(dataset.add_unit(record, rows))
            progress.update(bar, advance=1)
    return summarize(list(dataset.records()), run_counts(len(chosen), written))
