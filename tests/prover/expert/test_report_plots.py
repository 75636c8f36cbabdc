"""The reports' plots scale to their data (percentages 0-100, counts 0 to max(1, peak) with integer
ticks, every axis labelled) and the tactic table's pair counts add up."""

from __future__ import annotations

from typing import Any

import pytest

from prover.expert import report, retrieval_report
from prover.expert.report import RoundMetrics
from prover.expert.retrieval_report import CorpusRound, tactic_markdown, tactic_summary

METRICS = {"perplexity": 3.0, "nll_per_tactic": 1.1, "top1": 0.0, "topk": 0.0, "evaluated": 4, "pairs": 4,
           "k": 5}


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def integer_ticks(axis: Any) -> bool:
    low, high = axis.get_ylim()
    return all(float(t).is_integer() for t in axis.get_yticks() if low <= t <= high)


def test_all_zero_model_rounds_get_count_axes_from_0_to_1_with_integer_ticks_and_labels() -> None:
    metrics = [RoundMetrics(round=1, proved=0, pairs=0, kept=0, train_loss=0.5),
               RoundMetrics(round=2, proved=0, pairs=0, kept=0, train_loss=0.4)]
    solved, pairs, loss = report.figure(metrics, "zero").axes
    assert solved.get_ylim() == (0, 1) and pairs.get_ylim() == (0, 1)
    assert integer_ticks(solved) and integer_ticks(pairs)
    assert [a.get_ylabel() for a in (solved, pairs, loss)] == ["theorems proved", "pairs", "loss"]
    assert all(a.get_xlabel() == "round" for a in (solved, pairs, loss))


def test_model_round_counts_reach_their_largest_value_with_integer_ticks() -> None:
    metrics = [RoundMetrics(round=1, proved=3, pairs=7, kept=5),
               RoundMetrics(round=2, proved=2, pairs=4, kept=4)]
    solved, pairs, _ = report.figure(metrics, "counts").axes
    assert solved.get_ylim() == (0, 3) and pairs.get_ylim() == (0, 7)
    assert integer_ticks(solved) and integer_ticks(pairs)


def tactic_row(number: int, **pairs: int) -> CorpusRound:
    counts = {"given": 0, "heldout_state": 0, "duplicate": 0, "too_long": 0, "trained": 0} | pairs
    marker = {"model": "tiny", "pairs": counts, "training": None, "before": METRICS, "after": METRICS}
    return CorpusRound(round=number, solved={"heldout": (0, 2), "search": (0, 3)}, corpus_pairs=0,
                       tactic=tactic_summary(marker))


def test_retrieval_plot_of_zeros_shows_percent_0_to_100_counts_0_to_1_and_labels_every_axis() -> None:
    rows = [tactic_row(0), tactic_row(1)]
    fig = retrieval_report.figure(rows, "zero", {"max_expansions": 8})
    rates, corpus, perplexity, accuracy = fig.axes  # the fourth: the tactic panel's right axis
    assert rates.get_ylim() == (0, 100) and rates.get_ylabel() == "solved (%)"
    assert corpus.get_ylim() == (0, 1) and corpus.get_ylabel() == "pairs" and integer_ticks(corpus)
    assert perplexity.get_ylabel() == "perplexity (log scale)"
    assert accuracy.get_ylim() == (0, 100) and accuracy.get_ylabel() == "top-5 accuracy (%)"
    assert all(a.get_xlabel() == "round (corpus)" for a in (rates, corpus, perplexity))


def test_retrieval_corpus_axis_reaches_the_largest_count() -> None:
    rows = [CorpusRound(round=0, solved={"heldout": (1, 2)}, corpus_pairs=0),
            CorpusRound(round=1, solved={"heldout": (2, 2)}, corpus_pairs=12)]
    rates, corpus = retrieval_report.figure(rows, "grown", {}).axes
    assert rates.get_ylim() == (0, 100) and corpus.get_ylim() == (0, 12) and integer_ticks(corpus)


def test_the_tactic_table_says_of_how_many_pairs_and_why_the_others_were_left_out() -> None:
    table = "\n".join(tactic_markdown([
        tactic_row(0, given=200, heldout_state=1, too_long=34, trained=165),
        tactic_row(1, given=3, duplicate=2, trained=1), tactic_row(2, given=4, trained=4)]))
    assert "| 0 | 165 of 200 (34 too long, 1 on held-out states left out) | - |" in table
    assert "| 1 | 1 of 3 (2 already trained on) | - |" in table
    assert "| 2 | 4 of 4 | - |" in table


def test_a_marker_without_the_given_count_shows_the_trained_pairs_alone() -> None:
    summary = tactic_row(0, trained=5).tactic or {}
    del summary["given"]
    assert "| 0 | 5 | - |" in "\n".join(tactic_markdown([CorpusRound(round=0, tactic=summary)]))
