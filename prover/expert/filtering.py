"""Adaptive tactic-level filtering: keep the pairs the model can still learn from.

Each pair has a log-perplexity x under the current model (``prover.expert.perplexity``): the mean negative
log-likelihood, in nats per token, of the tactic's tokens and the EOS after the prompt ``"{state}:::"``.

- *Too easy* (low x): the model already writes this tactic; training on it spends compute and sharpens the
  model further on what it knows.
- *Too noisy* (high x): tactics the model finds very unlikely are mostly lucky or odd steps (a tactic that
  happened to work among many sampled); they pull the model away from its distribution.

The adaptation rule, recomputed every round from that round's scores (Q = the round's empirical quantile,
linear interpolation, as ``numpy.quantile``):

    easy cut  = clip(ln(easy_perplexity),                Q(easy_quantile_min),      Q(easy_quantile_max))
    noisy cut = clip(median + noisy_mads * 1.4826 * MAD, Q(1 - noisy_quantile_max), Q(1 - noisy_quantile_min))
    drop x < easy cut as "easy", x > noisy cut as "noisy", keep the rest;
    then cap each side by count: of n scored pairs at most floor(easy_quantile_max * n) are dropped as easy
    (the lowest-scored) and at most floor(noisy_quantile_max * n) as noisy (the highest-scored); ties are
    broken by the pairs' order, the earlier one dropped first.

The easy side follows what the model knows in absolute terms (perplexity near 1), so the dropped fraction
grows round after round as the model learns, within [easy_quantile_min, easy_quantile_max]. The noisy side is
a robust outlier rule (MAD is the median absolute deviation; 1.4826 * MAD estimates a normal's standard
deviation), so it widens and narrows with the round's spread, within its quantile bounds.

The maxima are exact: the count cap makes ``easy_quantile_max`` and ``noisy_quantile_max`` hold for every
round (an interpolated quantile cut alone can drop one pair more: with n = 129, x < Q(0.4) drops 52 = 40.3 %),
so at least ``1 - easy_quantile_max - noisy_quantile_max`` of the scored pairs are kept. The minima are what
the quantile cuts give (up to ties) and give way to the maxima where both cannot hold: with 5 pairs, the cut
at Q(1 - 0.02) drops the highest one (20 %), but the 15 % noisy maximum allows floor(0.75) = 0 pairs, so none
is dropped as noisy. Pairs too long to train on are dropped first (``too_long``, not counted in n); a round
with fewer than ``min_pairs`` scored pairs keeps them all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from prover.expert.config import FilterConfig

KEPT = "kept"
REASONS = ("easy", "noisy", "too_long")
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Thresholds:
    """The cuts of one round, in log-perplexity (nats per token), and which bound decided each.

    ``easy_bound``: ``absolute`` (ln(easy_perplexity) lay inside the quantile bounds), ``quantile_min`` or
    ``quantile_max`` (it was clipped to that bound). ``noisy_bound``: ``mad``, ``quantile_min`` (the cut at
    Q(1 - noisy_quantile_min), dropping the fewest) or ``quantile_max``. ``easy_max`` / ``noisy_max``: the
    most pairs the round may drop each side, floor(quantile_max * scored)."""

    easy: float
    noisy: float
    easy_bound: str
    noisy_bound: str
    easy_range: tuple[float, float]
    noisy_range: tuple[float, float]
    median: float
    mad: float
    scored: int
    easy_max: int
    noisy_max: int


def _clip(value: float, low: float, high: float, names: tuple[str, str, str]) -> tuple[float, str]:
    if value < low:
        return low, names[1]
    if value > high:
        return high, names[2]
    return value, names[0]


def compute_thresholds(log_ppls: Sequence[float], config: FilterConfig) -> Thresholds | None:
    """The round's cuts, or ``None`` when filtering is off or fewer than ``min_pairs`` pairs were scored."""
    x = np.asarray(log_ppls, dtype=np.float64)
    if not config.enabled or len(x) < config.min_pairs:
        return None
    quantile = lambda q: float(np.quantile(x, q))  # noqa: E731
    easy_range = (quantile(config.easy_quantile_min), quantile(config.easy_quantile_max))
    easy, easy_bound = _clip(math.log(config.easy_perplexity), *easy_range,
                             names=("absolute", "quantile_min", "quantile_max"))
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    noisy_range = (quantile(1 - config.noisy_quantile_max), quantile(1 - config.noisy_quantile_min))
    noisy, noisy_bound = _clip(median + config.noisy_mads * MAD_TO_SIGMA * mad, *noisy_range,
                               names=("mad", "quantile_max", "quantile_min"))
    return Thresholds(easy=easy, noisy=noisy, easy_bound=easy_bound, noisy_bound=noisy_bound,
                      easy_range=easy_range, noisy_range=noisy_range, median=median, mad=mad, scored=len(x),
                      easy_max=most_dropped(config.easy_quantile_max, len(x)),
                      noisy_max=most_dropped(config.noisy_quantile_max, len(x)))


def most_dropped(fraction: float, n: int) -> int:
    """floor(fraction * n): the most of ``n`` pairs a side may drop without exceeding ``fraction``."""
    return math.floor(fraction * n + 1e-9)  # 1e-9: 0.15 * 20 is 3.0000000000000004, not above 3


def decide(log_ppl: float | None, thresholds: Thresholds | None) -> str:
    """``kept`` or the reason a pair with this score falls outside the cuts (``None``: too long to score).

    The cuts alone: ``decide_all`` also applies the count caps, and ``filter_pairs`` uses it."""
    if log_ppl is None:
        return "too_long"
    if thresholds is None:
        return KEPT
    if log_ppl < thresholds.easy:
        return "easy"
    if log_ppl > thresholds.noisy:
        return "noisy"
    return KEPT


def decide_all(log_ppls: Sequence[float | None], thresholds: Thresholds | None) -> list[str]:
    """``decide`` for every pair, then the count caps: beyond ``easy_max`` pairs below the easy cut, the
    higher-scored ones are kept (likewise the lower-scored ones beyond ``noisy_max`` above the noisy cut);
    among equal scores the earlier pair is dropped first."""
    decisions = [decide(x, thresholds) for x in log_ppls]
    if thresholds is None:
        return decisions
    for reason, cap, sign in (("easy", thresholds.easy_max, 1.0), ("noisy", thresholds.noisy_max, -1.0)):
        chosen = [i for i, d in enumerate(decisions) if d == reason]
        if len(chosen) > cap:
            chosen.sort(key=lambda i: sign * float(log_ppls[i] or 0.0))  # stable: ties keep the pairs' order
            for i in chosen[cap:]:
                decisions[i] = KEPT
    return decisions


@dataclass
class FilterOutcome:
    """The round's pairs split by decision; each row gained ``log_perplexity``, ``perplexity`` and
    ``decision``. ``summary`` is what the filter manifest records (counts, thresholds, examples)."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {r: [] for r in REASONS})
    thresholds: Thresholds | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.kept + [row for reason in REASONS for row in self.dropped[reason]]


def filter_pairs(pairs: Sequence[dict[str, Any]], log_ppls: Sequence[float | None],
                 config: FilterConfig) -> FilterOutcome:
    """Split ``pairs`` (with their scores, ``None`` for too long) into kept and dropped by reason.

    Raises ``ValueError`` if the two sequences differ in length."""
    if len(pairs) != len(log_ppls):
        raise ValueError(f"{len(pairs)} pairs but {len(log_ppls)} scores")
    scored = [x for x in log_ppls if x is not None]
    outcome = FilterOutcome(thresholds=compute_thresholds(scored, config))
    for pair, x, decision in zip(pairs, log_ppls, decide_all(log_ppls, outcome.thresholds), strict=True):
        row = {**pair, "log_perplexity": x, "perplexity": None if x is None else math.exp(x),
               "decision": decision}
        (outcome.kept if decision == KEPT else outcome.dropped[decision]).append(row)
    outcome.summary = summarise(outcome, scored, config)
    return outcome


def _examples(rows: list[dict[str, Any]], count: int = 3) -> list[dict[str, Any]]:
    return [{"theorem": r.get("theorem"), "state": r["state"][:200], "tactic": r["tactic"],
             "perplexity": r["perplexity"]} for r in rows[:count]]


def summarise(outcome: FilterOutcome, scored: Sequence[float], config: FilterConfig) -> dict[str, Any]:
    """Counts, thresholds (log and plain perplexity), the fraction dropped each side, the perplexity
    distribution and a few examples per reason: what was kept and why."""
    total = len(outcome.kept) + sum(len(rows) for rows in outcome.dropped.values())
    summary: dict[str, Any] = {
        "enabled": config.enabled, "pairs": total, "scored": len(scored), "kept": len(outcome.kept),
        "kept_fraction": len(outcome.kept) / total if total else 0.0,
        "dropped": {reason: len(rows) for reason, rows in outcome.dropped.items()},
        "rule": "easy: x < clip(ln(easy_perplexity), Q(easy_quantile_min), Q(easy_quantile_max)); noisy: "
                "x > clip(median + noisy_mads*1.4826*MAD, Q(1-noisy_quantile_max), Q(1-noisy_quantile_min)); "
                "then at most floor(easy_quantile_max*n) easy (lowest x) and "
                "floor(noisy_quantile_max*n) noisy (highest x)",
        "config": asdict(config),
    }
    if scored:
        x = np.asarray(scored)
        summary["perplexity"] = {name: float(np.exp(np.quantile(x, q))) for name, q in
                                 (("min", 0), ("p10", 0.1), ("median", 0.5), ("p90", 0.9), ("max", 1))}
    t = outcome.thresholds
    if t is None:
        summary["thresholds"] = None
        summary["why_unfiltered"] = ("filtering is off" if not config.enabled else
                                     f"{len(scored)} scored pairs < min_pairs {config.min_pairs}")
    else:
        summary["thresholds"] = asdict(t) | {"easy_perplexity": math.exp(t.easy),
                                             "noisy_perplexity": math.exp(t.noisy)}
        summary["effective_quantiles"] = {reason: len(outcome.dropped[reason]) / len(scored)
                                          for reason in ("easy", "noisy")}
    summary["examples"] = {reason: _examples(rows) for reason, rows in outcome.dropped.items() if rows}
    return summary
