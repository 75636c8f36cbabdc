"""Which of a round's proof steps join the retrieval corpus of the next round.

No model scores a retrieval policy's pairs, so the filter is a stated rule, applied in this order to the
round's de-duplicated (state, tactic) pairs (``prover.expert.trajectories``):

1. *duplicate*: the pair is already in the corpus the round searched with (the traced rows and every
   earlier round's added pairs): adding it again would only re-weigh a tactic the index already holds;
2. *trivial*: its proof is a single tactic that the tactic list proposes at the root among the first
   ``width`` candidates it offers (what a search with the list tries first): the list finds it anyway.
   With ``drop_trivial`` off these are added;
3. where a scoring model is configured, the perplexity filter (``prover.expert.filtering``) drops the
   pairs it finds too easy, too noisy or too long.

Every other pair is added. Each dropped pair is counted under its reason, so nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prover.expert.config import FilterConfig
from prover.expert.filtering import REASONS, filter_pairs
from prover.policies.spec import for_theorem, natural_width
from prover.retrieval.index import RetrievalIndex
from search.protocols import Policy
from search.types import Theorem

GROWTH_RULE = ("a verified proof step (state, tactic) joins the next round's corpus unless it is already in "
               "the corpus the round searched with (duplicate), or its proof is one tactic the tactic list "
               "proposes at the root among its first `width` candidates (trivial, when drop_trivial), or a "
               "configured scoring model's perplexity filter drops it (easy, noisy, too_long)")
DROP_REASONS = ("duplicate", "trivial", *REASONS)

Key = tuple[str, str]


@dataclass
class Growth:
    """The pairs added and those dropped, by reason (``DROP_REASONS``)."""

    added: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {r: [] for r in DROP_REASONS})

    def summary(self) -> dict[str, Any]:
        collected = len(self.added) + sum(len(rows) for rows in self.dropped.values())
        return {"rule": GROWTH_RULE, "collected": collected, "added": len(self.added),
                "dropped": {reason: len(rows) for reason, rows in self.dropped.items()},
                "examples": {reason: [{"theorem": r.get("theorem"), "state": r["state"][:200],
                                       "tactic": r["tactic"]} for r in rows[:3]]
                             for reason, rows in self.dropped.items() if rows}}


def index_pairs(index: RetrievalIndex) -> Callable[[str, str], bool]:
    """Whether a (state, tactic) pair is in ``index`` (its states and the tactics recorded at each)."""
    known = {(entry.state, tactic) for entry in index.entries for tactic, _ in entry.tactics}
    return lambda state, tactic: (state, tactic) in known


def trivial_pairs(records: Iterable[Mapping[str, Any]], tactic_list: Policy,
                  theorems: Mapping[str, Theorem]) -> set[Key]:
    """The (root state, tactic) of every proved record whose proof is one tactic that ``tactic_list``
    proposes at the root among its first ``width`` candidates, specialised to the theorem (from
    ``theorems`` by name, as a search specialises it; a theorem not there gets the list as it is)."""
    width = natural_width(tactic_list) or 16
    found: set[Key] = set()
    for record in records:
        steps: list[dict[str, Any]] = record.get("trajectory") or []
        if record.get("status") != "proved" or len(record.get("proof") or ()) != 1 or len(steps) != 1:
            continue
        state, tactic = steps[0]["state"], steps[0]["tactic"]
        theorem = theorems.get(record["theorem"])
        policy = tactic_list if theorem is None else for_theorem(tactic_list, theorem)
        if tactic in {candidate.tactic for candidate in policy.propose([state], width)[0]}:
            found.add((state, tactic))
    return found


def grow(pairs: Sequence[dict[str, Any]], *, known: Callable[[str, str], bool], trivial: set[Key],
         drop_trivial: bool = True, scores: Sequence[float | None] | None = None,
         filter_config: FilterConfig | None = None) -> Growth:
    """Split a round's pairs by ``GROWTH_RULE``. ``scores`` (one per pair, ``None`` for too long) and
    ``filter_config``, given together, apply the perplexity filter to the pairs the first two steps kept.
    Raises ``ValueError`` when ``scores`` does not have one score per pair."""
    if scores is not None and len(scores) != len(pairs):
        raise ValueError(f"{len(pairs)} pairs but {len(scores)} scores")
    out = Growth()
    candidates, candidate_scores = [], []
    for number, pair in enumerate(pairs):
        key = (pair["state"], pair["tactic"])
        if known(*key):
            out.dropped["duplicate"].append(pair)
        elif drop_trivial and key in trivial:
            out.dropped["trivial"].append(pair)
        else:
            candidates.append(pair)
            candidate_scores.append(None if scores is None else scores[number])
    if scores is None or filter_config is None:
        out.added = candidates
        return out
    outcome = filter_pairs(candidates, candidate_scores, filter_config)
    out.added = outcome.kept
    for reason in REASONS:
        out.dropped[reason] = outcome.dropped[reason]
    return out


def score_pairs(model: str, pairs: Sequence[dict[str, Any]], config: FilterConfig) -> list[float | None]:
    """Log-perplexities of the pairs under ``model`` (``prover.expert.perplexity``; ``None`` for a pair too
    long to score), with the filter's device, batch size and length limit. Raises ``ModelLoadError``."""
    from prover.expert.perplexity import load_scorer, log_perplexities
    from prover.expert.training import free_accelerator_memory

    if not pairs:
        return []
    scorer, tokenizer = load_scorer(model, config.device)
    scores = log_perplexities(scorer, tokenizer, [(p["state"], p["tactic"]) for p in pairs],
                              batch_size=config.batch_size, max_length=config.max_length)
    del scorer
    free_accelerator_memory()
    return scores
