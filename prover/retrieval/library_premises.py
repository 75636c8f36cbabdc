"""The library's lemmas as premises: the theorems a traced corpus proves, named fully qualified and stated
as their first recorded goal, offered to a theorem only when its header loads their library.

A ``prove``/``sweep`` theorem's header states no lemma of its own (the header check refuses proofs), so the
file premises of ``prover.retrieval.premises`` give it only hint databases; what its proof can name are the
libraries it imports — ``sqrt_lem_1``, ``Rsqr_incr_1``, ``Rpower_pow`` for miniF2F's real analysis. A
corpus's step-0 rows hold each traced theorem's statement as a goal, so the corpus the retrieval policy
indexes also supplies these premises (ReProver's premise retrieval, here TF-IDF over statement tokens).
Only the files of the corpus split the retrieval index uses are read, so a held-out file's lemmas are never
named.

A trace names a theorem as coqtop names the open proof, short: ``EvenT_0``, which ``Arith/PeanoNat.v``
proves inside ``Module Nat``. A proof must write ``Nat.EvenT_0``, and one unknown name makes a whole
``auto using a, b`` fail, so each lemma is named as ``prover.stdlib_bench.library`` names the stdlib
benchmark's: the logical name of its compiled file, the modules around it, its name
(``Coq.Arith.PeanoNat.Nat.EvenT_0``), read from the traced file's statement sentences
(``prover.stdlib_bench.lemmas.stated_before``). Such a name resolves wherever the file is loaded,
imported or not. A lemma of a functor, a module type or a sealed module has no such name and is left out,
as is a short name a file states twice, a file the corpus cannot locate (a development traced without its
``path``) and a file with no logical name (traced without a ``-R``/``-Q`` load path). A section's lemma
keeps its name (the section's variables become arguments).

``LibraryPremisePolicy.for_theorem`` asks Coq which libraries the theorem's header loads (``Print
Libraries``, once per header and process) and offers only their lemmas; before it, the policy proposes the
hint databases alone. The policy holds its lemmas, so a sweep's driver builds it once and its workers never
read the corpus (``prover.retrieval.shared_index``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.retrieval.premises import Premise, PremisePolicy, statement_name
from prover.retrieval.state_text import parse_goal
from prover.stdlib_bench.lemmas import stated_before
from prover.stdlib_bench.library import TrainLibrary
from prover.stdlib_bench.own_library import library_of
from prover.tracing.coq_source import SourceError, SourceSentence, corpus_dotted, split_source
from prover.tracing.dataset import UnitRecord
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.loaded_libraries import LIBRARY_NAME
from search.errors import BackendUnavailableError
from search.policy_identity import code_digest, settings_digest
from search.protocols import Policy
from search.types import Candidate

logger = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_][\w']*\Z")

FileKey = tuple[str, str]  # (source, unit), as the dataset's records name a file


@dataclass(frozen=True)
class TracedFile:
    """A traced file's logical name (``Coq.Arith.PeanoNat``) and the fully qualified name of each lemma
    that can be named after it, by the short name its trace records."""

    library: str
    names: Mapping[str, str]


def qualified_names(sentences: Sequence[SourceSentence], library: str) -> dict[str, str]:
    """Short name -> fully qualified name of the lemmas of a file (``library``) nameable once it is loaded
    (``stated_before``'s rule: none of a functor, module type or sealed module); a short name the file
    states twice (in two modules) is ambiguous for a trace and left out."""
    stated = Counter(statement_name(s.text) for s in sentences)
    names: dict[str, str] = {}
    for premise in stated_before(sentences, len(sentences), library):
        short = premise.name.rpartition(".")[2]
        if stated[short] == 1:
            names[short] = premise.name
    return names


def library_premises_of(rows: Iterable[tuple[FileKey, str, str]],
                        files: Mapping[FileKey, TracedFile]) -> TrainLibrary:
    """Premises from (file, theorem, first state) rows, by library: one per theorem ``files`` qualifies,
    stated as its first row's goal, in row order. A theorem of a file ``files`` lacks, or that its file
    cannot name, is left out, and so is a qualified name two files give (two corpora of one library)."""
    statements: dict[str, tuple[FileKey, str]] = {}
    ambiguous: set[str] = set()
    for key, theorem, state in rows:
        file = files.get(key)
        name = None if file is None else file.names.get(theorem)
        if name is None:
            continue
        if name in statements:
            if statements[name][0] != key:
                ambiguous.add(name)
            continue
        goal = parse_goal(state)
        statements[name] = (key, " ".join([*(typ for _, typ in goal.hypotheses), goal.conclusion]))
    lemmas: dict[str, list[Premise]] = {}
    for name, (key, text) in statements.items():
        if name not in ambiguous:
            lemmas.setdefault(files[key].library, []).append(Premise(name, text))
    return TrainLibrary({library: tuple(premises) for library, premises in lemmas.items()})


def traced_files(records: Iterable[UnitRecord], stdlib: Path | None) -> dict[FileKey, TracedFile]:
    """Each record's file, read from disk and named (``TracedFile``); the files that cannot be located,
    read, split or named are left out, with a warning saying how many."""
    texts: dict[FileKey, tuple[str, str]] = {}  # key -> (library, text)
    missing: list[str] = []
    for record in records:
        located = _located(record, stdlib)
        if located is None:
            missing.append(record.unit)
            continue
        library, path = located
        try:
            texts[(record.source, record.unit)] = (library, path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            missing.append(f"{record.unit} ({exc})")
    dotted = corpus_dotted((source, text) for (source, _), (_, text) in texts.items())  # as the trace split
    files: dict[FileKey, TracedFile] = {}
    for key, (library, text) in texts.items():
        try:
            sentences = split_source(text, key[1], dotted[key[0]])
        except SourceError as exc:
            missing.append(f"{key[1]} ({exc})")
            continue
        files[key] = TracedFile(library, qualified_names(sentences, library))
    if missing:
        logger.warning("library premises: the lemmas of %d traced file(s) cannot be named (%s%s)",
                       len(missing), ", ".join(missing[:3]), " ..." if len(missing) > 3 else "")
    return files


def _located(record: UnitRecord, stdlib: Path | None) -> tuple[str, Path] | None:
    """The logical name of the record's compiled file and its source (the traced file where the record
    keeps its path, else a stdlib file's installed copy), or None when either is unknown."""
    from prover.tracing.coq_files import STDLIB_SOURCE, TraceInputError, load_path_args

    path = Path(record.path) if record.path else None
    if record.source == STDLIB_SOURCE:
        library: str | None = library_of(record.unit)
        if path is None and stdlib is not None:
            path = stdlib / record.unit
    elif path is not None:
        try:
            library = logical_name(path, load_path_args(path, stdlib))
        except TraceInputError:
            return None
    else:
        return None
    if path is None or library is None or not LIBRARY_NAME.match(library):
        return None
    return library, path


def logical_name(path: Path, load_path: Sequence[str]) -> str | None:
    """The logical name coqc gives ``path`` under ``load_path`` (``-R DIR NAME``/``-Q DIR NAME`` pairs,
    ``-I DIR``; the deepest folder holding the file counts), or None when no ``-R``/``-Q`` folder holds it."""
    best: tuple[int, str] | None = None
    index = 0
    while index < len(load_path):
        flag = load_path[index]
        if flag in ("-R", "-Q") and index + 2 < len(load_path):
            folder, name = Path(load_path[index + 1]), load_path[index + 2]
            if path.is_relative_to(folder) and (best is None or len(folder.parts) > best[0]):
                parts = path.relative_to(folder).with_suffix("").parts
                best = (len(folder.parts), ".".join(p for p in (name, *parts) if p))
            index += 3
        else:
            index += 2 if flag == "-I" else 1
    return None if best is None else best[1]


def library_premises(corpus: str, units: frozenset[FileKey] | None, *,
                     stdlib: Path | None = None) -> TrainLibrary:
    """The premises of ``corpus``'s Coq theorems in the files ``units`` ((source, unit) pairs; ``None``:
    every file), by library; the policy module's ``library_policy`` reads them once per process. A
    standard-library file is read under ``stdlib`` (default: the installed ``theories/``), another
    development's at the path its record keeps. Raises ``DatasetError`` for a folder that is not a
    dataset."""
    from prover.tracing.coq_files import TraceInputError, stdlib_root
    from prover.tracing.dataset import open_dataset

    if stdlib is None:
        try:
            stdlib = stdlib_root()
        except TraceInputError as exc:
            logger.warning("library premises: no installed standard library to read (%s)", exc)
    dataset = open_dataset(corpus)
    columns = ("assistant", "source", "file", "theorem", "step", "state_before")
    table = dataset.read(columns=list(columns))
    rows = [((source, file), theorem, state) for assistant, source, file, theorem, step, state in zip(
        *(table.column(name).to_pylist() for name in columns), strict=True)
        if assistant == "coq" and step == 0 and (units is None or (source, file) in units)
        and _IDENT.match(theorem)]
    keys = {key for key, _, _ in rows}
    files = traced_files((r for r in dataset.records() if (r.source, r.unit) in keys), stdlib)
    library = library_premises_of(rows, files)
    logger.info("library premises: %d lemmas of %d libraries of %s (%s files)", len(library),
                len(library.lemmas), corpus, "all" if units is None else len(units))
    return library


@functools.lru_cache(maxsize=64)
def header_libraries(header: str, config: CoqBackendConfig | None = None) -> frozenset[str]:
    """The libraries a Coq header loads (``Print Libraries`` after it, once per header and process);
    none, with a warning, for a header the header check refuses or that does not compile here."""
    from search.backends.coq.loaded_libraries import LibrariesUnknownError, loaded_libraries
    from search.backends.coq.safety import check_coq_header, header_sentences
    from search.backends.process import ProcessError

    reason = check_coq_header(header)
    if reason is not None:
        logger.warning("library premises: none for a refused header (%s)", reason)
        return frozenset()
    try:
        return loaded_libraries(header_sentences(header), config or CoqBackendConfig())
    except LibrariesUnknownError as exc:
        logger.warning("library premises: none, the header does not compile alone: %s", exc)
    except (BackendUnavailableError, ProcessError) as exc:
        logger.warning("library premises: none, the header's libraries are unknown: %s", exc)
    return frozenset()


class LibraryPremisePolicy:
    """The premise policy over a library's lemmas (``library_premises``) for theorems under a header: the
    ``top`` closest lemmas of the libraries the theorem's header loads (``for_theorem``, which ``loaded``
    answers, ``header_libraries`` when None). Unspecialised, it proposes the hint databases alone."""

    width = None
    ranks_all = True  # as PremisePolicy's

    def __init__(self, library: TrainLibrary, top: int,
                 loaded: Callable[[str], frozenset[str]] | None = None) -> None:
        self.library = library
        self.top = top
        self.loaded = loaded
        self._hints = PremisePolicy((), top=top)

    @property
    def premises(self) -> tuple[Premise, ...]:
        """Every lemma, of every library."""
        return self.library.premises(self.library.lemmas)

    @property
    def fingerprint(self) -> str:
        """Names the lemmas (names and statements), ``top`` and the rules' code."""
        digest = hashlib.sha256("\n".join(f"{p.name}\t{p.statement}" for p in self.premises).encode())
        return settings_digest("library-premises", {
            "premises": digest.hexdigest(), "top": self.top,
            "code": code_digest("prover.retrieval.premises", "prover.retrieval.library_premises")})

    def for_theorem(self, theorem: object) -> Policy:
        """The premise policy over the lemmas of the libraries ``theorem``'s header loads."""
        loaded = (self.loaded or header_libraries)(str(getattr(theorem, "header", "")))
        return self.library.policy(frozenset(loaded), self.top)

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return self._hints.propose(states, n)
