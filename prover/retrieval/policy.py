"""The retrieval policy (Tactician's idea): propose the tactics recorded at the most similar traced
states, with their local names mapped onto the current state's, scored by similarity.

A candidate's weight is the sum, over the neighbours that propose it, of ``similarity ** power`` times
the share of that neighbour's recordings it has; weights are normalised over the state's candidates and
their logarithms are the scores, so the engine treats them like a model's mean log-probs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prover.retrieval.index import Neighbour, RetrievalIndex
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.names import Context, map_tactic
from prover.retrieval.premises import Premise, PremisePolicy
from prover.retrieval.state_text import parse_goal
from prover.retrieval.tactic_heads import tactic_head
from prover.stdlib_bench.split import SPLITS
from search.policy_identity import code_digest, settings_digest
from search.protocols import Policy
from search.types import Candidate
from search.validation import Validated, setting

if TYPE_CHECKING:
    from prover.retrieval.library_premises import LibraryPremisePolicy

logger = logging.getLogger(__name__)

# The modules whose rules turn neighbours into candidates: their source is part of the fingerprint.
RETRIEVAL_MODULES = ("prover.retrieval.policy", "prover.retrieval.index", "prover.retrieval.names",
                     "prover.retrieval.state_text", "prover.retrieval.tactic_tokens",
                     "prover.retrieval.tactic_heads", "prover.retrieval.tactic_binders",
                     "search.backends.coq.goal_view")


@dataclass(frozen=True, kw_only=True)
class RetrievalConfig(Validated):
    """Settings of the retrieval policy."""

    config_name = "retrieval configuration"

    corpus: str = setting("", help="the traced dataset (a `prover trace` folder)")
    neighbours: int = setting(16, min=1, help="traced states consulted per state")
    power: float = setting(4.0, above=0, help="similarity ** power weighs each neighbour")
    min_similarity: float = setting(
        0.05, min=0, below=1, help="neighbours less similar than this (cosine, 0..1) are ignored")
    width: int = setting(
        16, min=1, help="tactics per state worth asking for (default tactics per node with this policy)")
    tactic_list_weight: float = setting(
        0.0, min=0, max=1, help="mix in the assistant's tactic-list policy with this share of the "
                                "probability (0: retrieval alone, 1: the list alone)")
    corpus_split: str = setting(
        "all", choices=("all", *SPLITS),
        help="index only the corpus rows of files in this part of the fixed file split "
             "(prover.stdlib_bench.split, which holds out standard-library files only: another development's "
             "files are train): train keeps the test and valid files' proofs out (all: every row)")
    head_weight: float = setting(
        0.0, min=0, max=1,
        help="also propose the head of each retrieved compound tactic (`t1` of `t1; t2`), with this share of "
             "the tactic's weight (Tactician's decomposition; 0: whole tactics only; off by default: its "
             "gain on the stdlib valid split did not carry over, BENCHMARKS.md)")
    premise_weight: float = setting(
        0.0, min=0, below=1,
        help="Coq: give this share of the probability to tactics that name the lemmas stated before the "
             "theorem in its file (the stdlib benchmark's lemmas; headers state none) and the hint "
             "databases (prover.retrieval.premises; 0: off)")
    premises: int = setting(4, min=1, help="lemmas of the environment used per state (with premise_weight)")
    library_premises: int = setting(
        0, min=0,
        help="Coq, with premise_weight: for a theorem under a header (prove, sweep), whose file states no "
             "lemma, rank the lemmas the corpus proves in its corpus_split files against the goal and name "
             "this many closest (prover.retrieval.library_premises; 0: hint databases only); for a stdlib "
             "benchmark lemma, name this many of the loaded train files' lemmas beside the file's own, "
             "each half of the premise share (prover.stdlib_bench.library)")
    extra: tuple[str, ...] = setting(
        (), nonblank=True,
        help="JSONL files of more (state, tactic) pairs indexed beside the corpus: rows with `state` and "
             "`tactic`, e.g. the pairs expert iteration's rounds added")

    def cross_checks(self) -> list[str]:
        if self.library_premises > 0 and self.premise_weight == 0:
            return ["library_premises names lemmas in the premise tactics' share: set premise_weight > 0 too"]
        return []


class RetrievalPolicy:
    """Nearest-neighbour tactics from an index (the ``Policy`` protocol)."""

    ranks_all = True  # propose computes the whole ranked list (prover.retrieval.mixture)

    def __init__(self, index: RetrievalIndex, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.config = config or RetrievalConfig()
        self._contexts: dict[int, Context] = {}  # entry index -> its parsed context, read once

    @property
    def width(self) -> int:
        return self.config.width

    @property
    def fingerprint(self) -> str:
        """Names the corpus (the index's content) and every setting, for a proof cache's failures, with the
        version of the name-mapping rules. Every field of the config counts, read from the dataclass, so
        a new setting needs no edit here. The policy is deterministic: it has no ``for_attempt``."""
        settings = {f.name: getattr(self.config, f.name) for f in dataclasses.fields(self.config)}
        return settings_digest("retrieval", {"index": self.index.digest, "settings": settings,
                                             "code": code_digest(*RETRIEVAL_MODULES)})

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        if not states:
            return []
        neighbours = self.index.query(states, self.config.neighbours)
        return [self._candidates(state, found)[:n] for state, found in zip(states, neighbours, strict=True)]

    def _candidates(self, state: str, neighbours: list[Neighbour]) -> list[Candidate]:
        target = Context.of(parse_goal(state))
        weights: dict[str, float] = {}
        for neighbour in neighbours:
            if neighbour.similarity <= 0 or neighbour.similarity < self.config.min_similarity:
                continue
            entry = neighbour.entry
            source = self._contexts.get(neighbour.index)
            if source is None:
                source = self._contexts[neighbour.index] = Context.of(parse_goal(entry.state))
            total = sum(count for _, count in entry.tactics)
            base = neighbour.similarity ** self.config.power
            for tactic, count in entry.tactics:
                mapped = map_tactic(tactic, source, target)
                if mapped is None:
                    continue
                share = base * count / total
                weights[mapped] = weights.get(mapped, 0.0) + share
                head = tactic_head(mapped) if self.config.head_weight > 0 else None
                if head is not None:
                    weights[head] = weights.get(head, 0.0) + self.config.head_weight * share
        norm = sum(weights.values())
        if norm <= 0:
            return []
        ranked = sorted(((t, w) for t, w in weights.items() if w > 0), key=lambda tw: -tw[1])
        return [Candidate(tactic, math.log(weight / norm)) for tactic, weight in ranked]


def load_index(corpus: str | Path, *, assistant: str | None = None,
               files: set[tuple[str, str]] | None = None, extra: Sequence[str] = ()) -> RetrievalIndex:
    """The index of a traced dataset: its rows of ``assistant`` (all when None), of ``files`` ((source,
    unit) pairs, as ``corpus_units`` gives them: a unit path alone could name two corpora's files; all when
    None), then the pairs of the ``extra`` JSONL files (``prover.retrieval.extra_pairs``), keeping for Coq
    only tactics the Coq safety filter lets a search send.

    Raises ``DatasetError`` for a folder that is not a dataset, ``ExtraPairsError`` for a bad pair file,
    ``ValueError`` when no row is left.
    """
    import itertools

    from prover.retrieval.extra_pairs import read_extra_pairs
    from prover.tracing.dataset import open_dataset

    columns = ("assistant", "source", "file", "state_before", "tactic")
    table = open_dataset(corpus).read(columns=list(columns))
    pairs = (
        (state, tactic)
        for a, source, f, state, tactic in zip(*(table.column(name).to_pylist() for name in columns),
                                               strict=True)
        if (assistant is None or a == assistant) and (files is None or (source, f) in files)
    )
    keep = None
    if assistant == "coq":
        from search.backends.coq.safety import check_coq_tactic

        def keep(tactic: str) -> bool:
            return check_coq_tactic(tactic) is None
    index = RetrievalIndex.from_pairs(itertools.chain(pairs, read_extra_pairs(extra)), keep)
    logger.info("retrieval index: %d states from %s and %d pair file(s)", len(index), corpus, len(extra))
    return index


def corpus_units(corpus: str | Path, split: str) -> set[tuple[str, str]] | None:
    """The files of ``corpus`` in ``split`` of the fixed file split (``prover.stdlib_bench.split``), as
    (source, unit) pairs (two corpora may hold files of one path, a stdlib test file and another
    development's), or ``None`` (every file) for ``all``. Raises ``DatasetError``."""
    from prover.stdlib_bench.split import file_split
    from prover.tracing.dataset import open_dataset

    if split == "all":
        return None
    return {(r.source, r.unit) for r in open_dataset(corpus).records()
            if file_split(r.source, r.unit) == split}


def check_corpus_usable(config: RetrievalConfig) -> None:
    """Raise ``InputError`` naming the corpus when it is no dataset, its ``corpus_split`` files hold no
    traced step or one of their shards is damaged: read from the unit records and the shards' footers,
    before a sweep or a training run writes its folder (the index itself is built later, once)."""
    from prover.theorem_input import InputError
    from prover.tracing.dataset import DatasetError, open_dataset

    try:
        units = corpus_units(config.corpus, config.corpus_split)
        dataset = open_dataset(config.corpus)
        rows = sum(r.rows for r in dataset.records() if units is None or (r.source, r.unit) in units)
        dataset.check_shards(units)
    except DatasetError as exc:
        raise InputError(f"retrieval corpus {config.corpus}: {exc}") from exc
    if rows == 0 and not config.extra:  # pair files are read (and checked) when the index is built
        split = "" if config.corpus_split == "all" else f" ({config.corpus_split} files)"
        raise InputError(f"retrieval corpus {config.corpus}{split}: no traced steps to index (trace files "
                         "into it with `prover trace`)")


def config_index(config: RetrievalConfig, assistant: str) -> RetrievalIndex:
    """The index ``config`` names: the corpus's rows of ``assistant`` in ``corpus_split``, and the
    ``extra`` pairs. Raises ``InputError`` naming the corpus or pair file when it has no usable row."""
    from prover.retrieval.extra_pairs import ExtraPairsError
    from prover.theorem_input import InputError
    from prover.tracing.dataset import DatasetError

    try:
        return load_index(config.corpus, assistant=assistant, extra=config.extra,
                          files=corpus_units(config.corpus, config.corpus_split))
    except ExtraPairsError as exc:
        raise InputError(f"retrieval pairs {exc}") from exc
    except (DatasetError, ValueError) as exc:
        split = "" if config.corpus_split == "all" else f" ({config.corpus_split} files)"
        raise InputError(f"retrieval corpus {config.corpus}{split}: {exc}") from exc


def build_retrieval_policy(config: RetrievalConfig, assistant: str) -> Policy:
    """The retrieval policy over ``config``'s index (``config_index``), mixed with the assistant's tactic
    list when ``tactic_list_weight`` > 0. Raises ``InputError`` when the corpus has no usable row."""
    return retrieval_policy(config_index(config, assistant), config, assistant)


def retrieval_policy(index: RetrievalIndex, config: RetrievalConfig, assistant: str,
                     premises: Sequence[Premise] | None = None,
                     library: Policy | None = None) -> Policy:
    """The retrieval policy over ``index`` with ``config``'s settings, mixed with the assistant's tactic
    list when ``tactic_list_weight`` > 0 (the list alone at 1), and with tactics naming premises and the
    hint databases at ``premise_weight`` > 0: ``premises``, the lemmas of the theorem's file, or with
    ``None`` (a theorem under a header) the corpus's lemmas when ``library_premises`` > 0: ``library``
    when given (a ``LibraryPremisePolicy`` a sweep's driver built, so that no worker reads the corpus),
    else ``library_policy``'s. With file premises, ``library`` (the loaded libraries' lemmas,
    ``prover.stdlib_bench.library``) takes half of the premise share when ``library_premises`` > 0.
    Raises ``InputError`` for premises with a Lean policy (their tactics are Coq's), and naming the corpus
    when it must be read and is no dataset."""
    weight = config.tactic_list_weight
    parts: list[tuple[Policy, float]] = []
    if weight < 1:
        parts.append((RetrievalPolicy(index, config), 1 - weight))
    if weight > 0:
        parts.append((tactic_list_policy(assistant), weight))
    if config.premise_weight > 0:
        if assistant != "coq":
            from prover.theorem_input import InputError

            raise InputError("retrieval premise_weight: premise tactics are written for Coq only")
        rest = 1 - config.premise_weight
        parts = [(policy, share * rest) for policy, share in parts]
        if premises is None and config.library_premises > 0:
            if library is None:
                library = library_policy(config.corpus, config.corpus_split, config.library_premises)
            parts.append((library, config.premise_weight))
        elif library is not None and config.library_premises > 0:
            parts += [(PremisePolicy(premises or (), top=config.premises), config.premise_weight / 2),
                      (library, config.premise_weight / 2)]
        else:
            parts.append((PremisePolicy(premises or (), top=config.premises), config.premise_weight))
    if len(parts) == 1:
        return parts[0][0]
    return MixturePolicy(parts, width=config.width)


@functools.lru_cache(maxsize=4)
def library_policy(corpus: str, split: str, top: int) -> LibraryPremisePolicy:
    """The premise policy over the lemmas of ``corpus``'s ``split`` files, fully qualified, each offered
    where the theorem's header loads its library (``prover.retrieval.library_premises``), built once per
    process (reading the corpus and its files takes seconds). Raises ``InputError`` naming the corpus."""
    from prover.retrieval.library_premises import LibraryPremisePolicy, library_premises
    from prover.theorem_input import InputError
    from prover.tracing.dataset import DatasetError

    try:
        units = corpus_units(corpus, split)
        return LibraryPremisePolicy(library_premises(corpus, None if units is None else frozenset(units)),
                                    top)
    except DatasetError as exc:
        raise InputError(f"retrieval corpus {corpus}: {exc}") from exc


def tactic_list_policy(assistant: str) -> Policy:
    """The assistant's built-in tactic-list policy (Coq's state-dependent one, or Lean's fixed list)."""
    if assistant == "coq":
        from search.backends.coq import CoqTacticPolicy

        return CoqTacticPolicy()
    from search import DEFAULT_LEAN_TACTICS, FixedTacticPolicy

    return FixedTacticPolicy(DEFAULT_LEAN_TACTICS)
