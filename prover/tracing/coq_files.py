"""Which ``.v`` files a Coq trace replays, under which names, with which coqtop arguments.

The default corpus is the standard library whose sources Debian's ``libcoq-stdlib`` (pulled in by
``coq``) installs beside the compiled ``.vo`` files: ``$(coqc -where)/theories``. A stdlib file is named
by its path under ``theories/`` (``Bool/Bool.v``); its ``Require``s load the installed compiled library,
and the prelude's own files (``Init/``) are replayed with ``-noinit``, as Coq's build compiles them.

Any other development is replayed with the load path its own build uses, so that its files' short
``Require``s of siblings (Coquelicot's ``Require Import Rcomplements.``) resolve: the ``-R``/``-Q``/``-I``
lines of the nearest ``_CoqProject`` above the file, or, for a library installed under
``$(coqc -where)/user-contrib/LIB`` (Debian's Coquelicot, Flocq, Interval ...), ``-R .../LIB LIB``; and
with the options its ``-arg`` lines give coqc (``-arg -impredicative-set``).

A file is named by its path under the folder given, as found there: a symbolic link to a file elsewhere
is the unit the link names, replayed from the file it points to (its resolved path is the record's);
a link to nothing is a job too, whose trace stops early saying the file is missing (counted and named
in the summary like any unreadable file).

Every file is replayed under its own logical name (``-topfile FILE``), not coqtop's ``Top``: a proof whose
Ltac refers to the file's own constants by their qualified name (``Coq.Classes.Morphisms``'s tactics)
works as it does when coqc compiles the file.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from prover.theorem_input import InputError
from prover.tracing.coq_source import corpus_dotted
from prover.tracing.coq_trace_job import TraceJob

STDLIB_SOURCE = "coq-stdlib"
_MODULE_NAME = re.compile(r"[^\W\d][\w']*")  # a Coq identifier: a letter or _, then letters, digits, _ and '

logger = logging.getLogger(__name__)


class TraceInputError(InputError):
    """The files to trace cannot be found or named (the message says which path and why)."""


def stdlib_root(coqc: str = "coqc") -> Path:
    """The installed standard library's ``theories`` folder; raises ``TraceInputError``."""
    if shutil.which(coqc) is None:
        raise TraceInputError(f"{coqc!r} not found: install Coq (`apt-get install coq`) to trace its library")
    try:
        where = subprocess.run([coqc, "-where"], capture_output=True, text=True, timeout=30,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise TraceInputError(f"`{coqc} -where` failed: {exc}") from exc
    root = Path(where) / "theories"
    if not any(root.glob("*/*.v")):
        raise TraceInputError(f"{root} holds no .v sources: install them (`apt-get install libcoq-stdlib`)")
    return root


def find_jobs(paths: Sequence[str | Path], *, trace: str, source: str | None = None,
              coqc: str = "coqc") -> list[TraceJob]:
    """One job per ``.v`` file under ``paths`` (files or folders; none: the whole standard library),
    largest first so that long files start early; raises ``TraceInputError`` (also for two files that
    would be the same unit of the same corpus). A file named twice (a folder and a file in it) is one job."""
    root = stdlib_root(coqc) if not paths else _installed_stdlib(coqc)
    targets = [Path(p) for p in paths] or ([root] if root else [])
    jobs: dict[tuple[str, str], TraceJob] = {}
    paths_seen: set[str] = set()
    for target in targets:
        if not target.exists():
            raise TraceInputError(f"{target}: no such file or folder")
        files = sorted(target.rglob("*.v")) if target.is_dir() else [target]
        if target.is_file() and target.suffix != ".v":
            raise TraceInputError(f"{target}: not a .v file")
        if not files:
            raise TraceInputError(f"{target}: no .v files in it")
        base = target if target.is_dir() else target.parent
        for file in files:
            job = _job(file, base, root, trace, source)
            if job.path in paths_seen:  # named twice (a folder and a file in it): the first naming counts
                continue
            paths_seen.add(job.path)
            known = jobs.setdefault((job.source, job.unit), job)
            if known.path != job.path:
                raise TraceInputError(
                    f"{known.path} and {job.path} would both be unit {job.unit!r} of corpus {job.source!r}: "
                    "trace them into separate datasets, or give each folder its own --source")
    return sorted(with_sibling_notations(list(jobs.values())), key=lambda j: -_size(Path(j.path)))


def _size(file: Path) -> int:
    """The file's size; 0 for a file that is missing (a dangling link: its trace says so)."""
    try:
        return file.stat().st_size
    except OSError:
        return 0


def with_sibling_notations(jobs: list[TraceJob]) -> list[TraceJob]:
    """Each job with the dotted notation symbols (``x .+. y``) the files of its corpus declare: a file
    that loads a sibling's notation must not be cut at its dot (coqtop would wait for the sentence's end
    until the time-out, and the rest of the file would be lost)."""
    declared = corpus_dotted((job.source, text) for job in jobs if (text := _text(job)) is not None)
    return [replace(job, dotted=tuple(sorted(declared.get(job.source, ())))) for job in jobs]


def _text(job: TraceJob) -> str | None:
    try:
        return Path(job.path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # the trace reports the file unreadable


def _installed_stdlib(coqc: str) -> Path | None:
    try:
        return stdlib_root(coqc)
    except TraceInputError:
        return None


def _job(found: Path, base: Path, root: Path | None, trace: str, source: str | None) -> TraceJob:
    """The job of ``found`` (a file under ``base`` as found there, perhaps a link): named by its path under
    ``base``, or under the stdlib's ``root`` for a stdlib file; replayed from its resolved path."""
    file = found.resolve()
    if not file.exists():
        logger.warning("%s: a symbolic link to %s, which does not exist: its trace will stop early", found,
                       file)
    if root is not None and file.is_relative_to(root.resolve()):
        unit = file.relative_to(root.resolve()).as_posix()
        extra = ("-noinit",) if unit.startswith("Init/") else ()
        return TraceJob(str(file), unit, source or STDLIB_SOURCE, trace, (*extra, *topfile_args(file)))
    unit = found.relative_to(base).as_posix() if found.is_relative_to(base) else found.name
    project = _nearest_project(file)  # its _CoqProject read once for the load path and the options
    load, options = _project_args(project) if project is not None else (load_path_args(file, root), ())
    return TraceJob(str(file), unit, source or base.resolve().name, trace,
                    (*load, *options, *topfile_args(file)))


def topfile_args(file: Path) -> tuple[str, ...]:
    """``-topfile FILE``: coqtop names the toplevel module as ``coqc`` names the compiled file
    (``Coq.Classes.Morphisms``, a development's ``Dev.Use``, else ``foo`` for ``foo.v``), so that a proof
    whose Ltac names the file's own constants by their qualified name replays as it compiles. ``()`` for a
    file whose name is no Coq module name (``my-file.v``: coqtop refuses to start with it, and coqc to
    compile it), which is replayed as ``Top``."""
    if _MODULE_NAME.fullmatch(file.stem) is None:
        logger.debug("%s: not a module name, replayed as Top", file)
        return ()
    return ("-topfile", str(file))


def load_path_args(file: Path, stdlib: Path | None) -> tuple[str, ...]:
    """The coqtop arguments that bind ``file``'s development to its logical name (``-R DIR NAME`` ...),
    from the nearest ``_CoqProject`` above it or its ``user-contrib`` folder; ``()`` when neither says.
    Raises ``TraceInputError`` for a ``_CoqProject`` that cannot be read."""
    project = _nearest_project(file)
    if project is not None:
        return _project_args(project)[0]
    if stdlib is not None:
        contrib = stdlib.resolve().parent / "user-contrib"
        if file.is_relative_to(contrib) and len(file.relative_to(contrib).parts) > 1:
            library = file.relative_to(contrib).parts[0]
            return ("-R", str(contrib / library), library)
    return ()


def _nearest_project(file: Path) -> Path | None:
    return next((folder / "_CoqProject" for folder in file.parents if (folder / "_CoqProject").is_file()),
                None)


def _project_args(project: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The load path of a ``_CoqProject`` (``-R``/``-Q`` (folder, name) and ``-I`` (folder) options,
    folders made absolute) and the options of its ``-arg`` lines (each operand split as a shell splits
    it, as ``coq_makefile`` passes it on); its other lines (file lists) are left out."""
    try:
        words = shlex.split(project.read_text(encoding="utf-8"), comments=True)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TraceInputError(f"{project}: cannot be read: {exc}") from exc
    out: list[str] = []
    args: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        arity = {"-R": 2, "-Q": 2, "-I": 1, "-arg": 1}.get(word, 0)
        if arity:
            operands = words[index + 1: index + 1 + arity]
            if len(operands) < arity:
                raise TraceInputError(f"{project}: {word} needs {arity} operand(s)")
            if word == "-arg":
                try:
                    args += shlex.split(operands[0])
                except ValueError as exc:
                    raise TraceInputError(f"{project}: -arg {operands[0]!r}: {exc}") from exc
            else:
                out += [word, str((project.parent / operands[0]).resolve()), *operands[1:]]
        index += 1 + arity
    return tuple(out), tuple(args)
