"""The adaptive filter's quantile logic on hand-computed cases.

numpy's linear quantile of n sorted values at q sits at position q * (n - 1). With 10 values: Q(0.1) at
0.9, Q(0.4) at 3.6, Q(0.8) at 7.2, Q(0.95) at 8.55.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from prover.expert import FilterConfig, compute_thresholds, filter_pairs
from prover.expert.filtering import decide_all

CONFIG = FilterConfig(easy_perplexity=math.exp(0.05), easy_quantile_min=0.1, easy_quantile_max=0.4,
                      noisy_mads=3.0, noisy_quantile_min=0.05, noisy_quantile_max=0.2, min_pairs=5)


def drops(x: list[float], config: FilterConfig = CONFIG) -> dict[str, int]:
    decisions = decide_all(x, compute_thresholds(x, config))
    return {reason: decisions.count(reason) for reason in ("easy", "noisy", "kept")}


def test_inside_the_bounds_the_absolute_level_and_the_mad_rule_decide() -> None:
    x = [0.0, 0.01, 0.02, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 3.00]
    t = compute_thresholds(x, CONFIG)
    assert t is not None
    # easy: ln(easy_perplexity) = 0.05 lies in [Q(0.1), Q(0.4)] = [0 + 0.9 * 0.01, 0.10 + 0.6 * 0.10]
    assert t.easy_range == pytest.approx((0.009, 0.16))
    assert (t.easy, t.easy_bound) == (pytest.approx(0.05), "absolute")
    # noisy: median 0.25; |x - 0.25| sorted .05 .05 .15 .15 .23 .24 .25 .25 .35 2.75 -> MAD 0.235;
    # 0.25 + 3 * 1.4826 * 0.235 = 1.295233, inside [Q(0.8), Q(0.95)] = [0.5 + 0.2 * 0.1, 0.6 + 0.55 * 2.4]
    assert (t.median, t.mad) == (pytest.approx(0.25), pytest.approx(0.235))
    assert t.noisy_range == pytest.approx((0.52, 1.92))
    assert (t.noisy, t.noisy_bound) == (pytest.approx(1.295233), "mad")
    assert drops(x) == {"easy": 3, "noisy": 1, "kept": 6}


def test_a_model_that_knows_everything_loses_at_most_the_easy_maximum() -> None:
    x = [0.001 * i for i in range(10)]  # every perplexity below 1.05
    t = compute_thresholds(x, CONFIG)
    assert t is not None
    # easy: 0.05 > Q(0.4) = 0.0036, clipped there: drops 0, .001, .002, .003 (40 %)
    assert (t.easy, t.easy_bound) == (pytest.approx(0.0036), "quantile_max")
    # noisy: median 0.0045, MAD 0.0025 -> 0.0156195 > Q(0.95) = 0.00855: clipped to the fewest-drops bound
    assert (t.noisy, t.noisy_bound) == (pytest.approx(0.00855), "quantile_min")
    assert drops(x) == {"easy": 4, "noisy": 1, "kept": 5}


def test_a_model_that_knows_nothing_loses_at_least_the_easy_minimum() -> None:
    x = [1.0 + 0.1 * i for i in range(10)]
    t = compute_thresholds(x, CONFIG)
    assert t is not None
    # easy: 0.05 < Q(0.1) = 1.09, raised to it: drops 1.0 only
    assert (t.easy, t.easy_bound) == (pytest.approx(1.09), "quantile_min")
    # noisy: median 1.45, MAD 0.25 -> 2.56195 > Q(0.95) = 1.855: drops 1.9 only
    assert (t.noisy, t.noisy_bound) == (pytest.approx(1.855), "quantile_min")
    assert drops(x) == {"easy": 1, "noisy": 1, "kept": 8}


def test_the_noisy_cut_is_clipped_to_its_quantile_bounds() -> None:
    x = [0.1] * 5 + [5.0, 6.0, 7.0, 8.0, 9.0]
    t = compute_thresholds(x, CONFIG)
    assert t is not None
    # median 2.55, MAD 2.45 -> 2.55 + 3 * 1.4826 * 2.45 = 13.45 > Q(0.95) = 8 + 0.55 * 1: the fewest drops
    assert (t.noisy, t.noisy_bound) == (pytest.approx(8.55), "quantile_min")
    # a tight round (MAD 0): median + 0 = 0.5 < Q(0.8) = 0.5 + 0.2 * 0.1, raised to the most-drops bound
    tight = [0.5] * 8 + [0.6, 0.7]
    t = compute_thresholds(tight, CONFIG)
    assert t is not None and (t.noisy, t.noisy_bound) == (pytest.approx(0.52), "quantile_max")
    assert drops(tight)["noisy"] == 2


def test_too_few_pairs_or_filter_off_keeps_everything_that_was_scored() -> None:
    assert compute_thresholds([0.1, 0.2, 0.3], CONFIG) is None
    off = FilterConfig(enabled=False, min_pairs=1)
    assert compute_thresholds([0.1] * 50, off) is None
    pairs = [{"state": f"s{i}", "tactic": "t", "theorem": "x"} for i in range(3)]
    outcome = filter_pairs(pairs, [0.1, None, 0.3], CONFIG)
    assert [p["state"] for p in outcome.kept] == ["s0", "s2"]
    assert [p["state"] for p in outcome.dropped["too_long"]] == ["s1"]
    assert outcome.summary["thresholds"] is None
    assert outcome.summary["why_unfiltered"] == "2 scored pairs < min_pairs 5"


def test_filter_pairs_annotates_rows_and_reports_why() -> None:
    x = [0.0, 0.01, 0.02, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 3.00]
    pairs = [{"state": f"s{i}", "tactic": f"t{i}", "theorem": "thm"} for i in range(len(x))]
    outcome = filter_pairs(pairs, x, CONFIG)
    assert [p["tactic"] for p in outcome.kept] == ["t3", "t4", "t5", "t6", "t7", "t8"]
    assert [p["tactic"] for p in outcome.dropped["easy"]] == ["t0", "t1", "t2"]
    assert outcome.dropped["noisy"][0]["perplexity"] == pytest.approx(math.exp(3.0))
    assert {p["decision"] for p in outcome.kept} == {"kept"}
    summary = outcome.summary
    assert summary["kept"] == 6 and summary["dropped"] == {"easy": 3, "noisy": 1, "too_long": 0}
    assert summary["effective_quantiles"] == {"easy": pytest.approx(0.3), "noisy": pytest.approx(0.1)}
    assert summary["thresholds"]["easy_perplexity"] == pytest.approx(math.exp(0.05))
    assert summary["examples"]["noisy"][0]["tactic"] == "t9"
    assert len(outcome.rows) == len(pairs)
    with pytest.raises(ValueError):
        filter_pairs(pairs, x[:-1], CONFIG)


@pytest.mark.parametrize("changes", [
    {"easy_perplexity": 1.0}, {"easy_quantile_min": 0.5, "easy_quantile_max": 0.4},
    {"easy_quantile_max": 0.6, "noisy_quantile_max": 0.5}, {"noisy_mads": 0}, {"min_pairs": 0},
    {"device": "tpu"},
])
def test_invalid_settings_are_refused(changes: dict) -> None:
    with pytest.raises(ValueError, match="invalid filter configuration"):
        FilterConfig(**changes)


def test_the_documented_maxima_hold_exactly_in_every_round() -> None:
    config = FilterConfig(min_pairs=5)
    rng = np.random.default_rng(0)
    for trial in range(400):
        n = int(rng.integers(5, 200))
        x = [rng.normal(2, 1, n), rng.exponential(0.02, n), rng.lognormal(0, 2, n),
             np.r_[rng.normal(1, 0.01, n - 3), [30, 40, 50]]][trial % 4]
        x = [float(v) for v in np.minimum(np.abs(x), 60)]
        decisions = decide_all(x, compute_thresholds(x, config))
        easy = [v for v, d in zip(x, decisions, strict=True) if d == "easy"]
        noisy = [v for v, d in zip(x, decisions, strict=True) if d == "noisy"]
        rest = [v for v, d in zip(x, decisions, strict=True) if d == "kept"]
        assert len(easy) <= config.easy_quantile_max * n and len(noisy) <= config.noisy_quantile_max * n
        # the capped sides still drop the lowest and the highest scores
        assert max(easy, default=-math.inf) <= min(rest + noisy, default=math.inf)
        assert min(noisy, default=math.inf) >= max(rest + easy, default=-math.inf)


def test_an_interpolated_cut_that_would_drop_one_pair_too_many_is_capped() -> None:
    x = [0.5 + 2.5 * i / 128 for i in range(129)]  # 129 distinct scores, every perplexity above 1.6
    config = FilterConfig(easy_perplexity=1e6)  # the easy cut is clipped to Q(0.4), at position 51.2
    t = compute_thresholds(x, config)
    assert t is not None and t.easy_bound == "quantile_max"
    assert sum(v < t.easy for v in x) == 52  # the cut alone: 52 / 129 = 40.3 % > 40 %
    assert (t.easy_max, t.noisy_max) == (51, 19)
    outcome = filter_pairs([{"state": f"s{i}", "tactic": "t"} for i in range(129)], x, config)
    assert [p["state"] for p in outcome.dropped["easy"]] == [f"s{i}" for i in range(51)]  # the 51 lowest
    assert outcome.summary["effective_quantiles"]["easy"] <= 0.4


def test_at_small_n_the_maximum_wins_over_the_minimum() -> None:
    config = FilterConfig(min_pairs=5)  # noisy: at least ~2 %, at most 15 %
    x = [0.5, 0.6, 0.7, 0.8, 5.0]
    t = compute_thresholds(x, config)
    assert t is not None and sum(v > t.noisy for v in x) == 1  # the cut at Q(0.98) would drop 1 of 5 = 20 %
    assert t.noisy_max == 0
    assert decide_all(x, t).count("noisy") == 0  # floor(0.15 * 5) = 0: the maximum wins


def test_equal_scores_beyond_the_cap_are_dropped_in_the_pairs_order() -> None:
    x = [0.3, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.6, 0.7, 0.8]
    t = compute_thresholds(x, CONFIG)
    assert t is not None
    t = dataclasses.replace(t, easy=0.25)  # six pairs below the cut, at most floor(0.4 * 10) = 4 dropped
    assert t.easy_max == 4
    decisions = decide_all(x, t)
    assert [i for i, d in enumerate(decisions) if d == "easy"] == [1, 2, 4, 5]  # the zeros, earliest first
    assert decisions[6] == "kept" and decisions[3] == "kept"
