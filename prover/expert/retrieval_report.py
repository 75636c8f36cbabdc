"""The report of a retrieval expert-iteration run (``prover.expert.retrieval_loop``): per round, the solve
rate on each held-out set at the run's fixed budget, what the data search proved, and how the corpus grew
(with a tactic model: its held-out tactic perplexity and top-1/top-k accuracy before and after each
round's training, a second table and a third panel); as Markdown, JSON and a plot.

Built from the stages' markers and ``run.json`` only, so it can be written while the run goes on or after
it stopped (``prover report RUN_DIR``), and a resumed run reports earlier rounds exactly as they finished.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.atomic_files import save_figure, write_json_atomic, write_text_atomic
from prover.expert.report import count_axis, percent_axis
from prover.expert.run_manifest import RUN_MANIFEST
from prover.expert.stages import TACTIC_STAGE, round_dir, round_numbers, stage_info
from prover.theorem_input import InputError

EVALUATIONS = {"heldout": "benchmark held-out", "stdlib_test": "stdlib test"}
DATA_SEARCHES = {"search": "benchmark data", "stdlib_train": "stdlib train"}


@dataclass
class CorpusRound:
    """One round's numbers; ``solved`` maps each evaluation or data search that ran to (proved, counted)."""

    round: int
    solved: dict[str, tuple[int, int]] = field(default_factory=dict)
    pairs: int | None = None
    preferences: int | None = None
    added: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    corpus_pairs: int = 0  # pairs earlier rounds added: what this round's corpus holds beside the traced rows
    index_states: int | None = None
    tactic: dict[str, Any] | None = None  # the tactic model's round (``tactic_summary``), if it has one
    minimised: dict[str, int] | None = None  # the minimise stage's counts, with --minimise-proofs

    def rate(self, stage: str) -> float | None:
        proved, counted = self.solved.get(stage, (0, 0))
        return proved / counted if counted else None


@dataclass
class RetrievalReport:
    title: str
    budget: dict[str, Any]
    rounds: list[CorpusRound]
    paths: dict[str, Path]


def is_retrieval_run(folder: Path) -> bool:
    """Whether ``folder`` holds a retrieval expert-iteration run."""
    path = folder / RUN_MANIFEST
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("loop") == "retrieval"
    except (ValueError, AttributeError):
        return False


def corpus_round(out: Path, number: int, corpus_pairs: int) -> CorpusRound:
    folder = round_dir(out, number)
    row = CorpusRound(round=number, corpus_pairs=corpus_pairs)
    for stage in (*EVALUATIONS, *DATA_SEARCHES):
        info = stage_info(folder, stage)
        if info is not None:
            row.solved[stage] = (info["proved"], info["valid"])
            row.index_states = info.get("index_states", row.index_states)
    if (collect := stage_info(folder, "collect")) is not None:
        row.pairs = collect["counts"].get("pairs", 0)
        row.preferences = collect["counts"].get("preferences", 0)
    if (grown := stage_info(folder, "grow")) is not None:
        row.added, row.dropped = grown["added"], grown["dropped"]
    if (tactic := stage_info(folder, TACTIC_STAGE)) is not None:
        row.tactic = tactic_summary(tactic)
    if (minimised := stage_info(folder, "minimise")) is not None:
        row.minimised = {key: minimised.get(key, 0) for key in ("minimised", "steps_removed", "minimal",
                                                                 "rejected", "not_replayed", "refused")}
    return row


TACTIC_METRICS = ("perplexity", "nll_per_tactic", "top1", "topk", "evaluated", "pairs", "k")


def tactic_summary(marker: dict[str, Any]) -> dict[str, Any]:
    """What the report shows of a tactic-model stage's marker: pairs trained, training, metrics."""
    training = marker.get("training") or {}
    return {"model": marker.get("model"), "trained_pairs": marker["pairs"]["trained"],
            "heldout_state": marker["pairs"].get("heldout_state", 0),
            "given": marker["pairs"].get("given"), "duplicate": marker["pairs"].get("duplicate", 0),
            "too_long": marker["pairs"].get("too_long", 0),
            "steps": training.get("steps", 0), "train_seconds": training.get("seconds", 0.0),
            "time_limited": training.get("time_limited", False), "device": marker.get("device"),
            "before": {key: marker["before"][key] for key in TACTIC_METRICS},
            "after": {key: marker["after"][key] for key in TACTIC_METRICS}}


def collect_rounds(out: Path) -> list[CorpusRound]:
    """Every round of the run in ``out`` that has a finished stage, in order."""
    rows, corpus_pairs = [], 0
    for number in round_numbers(out):
        row = corpus_round(out, number, corpus_pairs)
        corpus_pairs += row.added or 0
        if row.solved or row.pairs is not None or row.tactic is not None:
            rows.append(row)
    return rows


def write_retrieval_report(out: Path, title: str) -> RetrievalReport:
    """report.md, report.json and report.png in ``out``; raises ``InputError`` for a folder that holds
    no retrieval run."""
    if not is_retrieval_run(out):
        raise InputError(f"{out} holds no retrieval expert-iteration run (no {RUN_MANIFEST} of one)")
    manifest = json.loads((out / RUN_MANIFEST).read_text(encoding="utf-8"))
    rows = collect_rounds(out)
    paths = {"markdown": out / "report.md", "json": out / "report.json", "plot": out / "report.png"}
    budget = manifest.get("budget") or {}
    write_json_atomic(paths["json"], {"title": title, "manifest": manifest,
                                      "rounds": [asdict(r) | {"rates": _rates(r)} for r in rows]})
    write_text_atomic(paths["markdown"], markdown(rows, title, manifest, paths["plot"].name))
    plot(rows, paths["plot"], title, budget)
    return RetrievalReport(title, budget, rows, paths)


def _rates(row: CorpusRound) -> dict[str, float | None]:
    return {stage: row.rate(stage) for stage in row.solved}


def _solved(row: CorpusRound, stage: str) -> str:
    if stage not in row.solved:
        return "-"
    proved, counted = row.solved[stage]
    return f"{proved}/{counted} ({proved / counted:.1%})" if counted else f"{proved}/0"


def budget_text(budget: dict[str, Any]) -> str:
    parts = [f"{budget[key]:g} s" if key == "time_limit" else f"{budget[key]} expansions"
             for key in ("time_limit", "max_expansions") if budget.get(key) is not None]
    return " / ".join(parts) or "the search's defaults"


def markdown(rows: list[CorpusRound], title: str, manifest: dict[str, Any], plot_name: str) -> str:
    parts = manifest.get("parts") or {}
    lines = [f"# Expert iteration with the retrieval policy: {title}", "",
             f"Budget per theorem, every round and set: {budget_text(manifest.get('budget') or {})}. Round r "
             "searches with corpus r: the traced train files plus the pairs rounds 0..r-1 added. Held-out "
             f"rows ({len(parts.get('heldout', []))}; {parts.get('rule', '')}, "
             f"{parts.get('heldout_percent', '?')}%) and stdlib test lemmas are never searched for data.", "",
             "| round | corpus pairs added | " + " | ".join(EVALUATIONS.values()) + " | "
             + " | ".join(DATA_SEARCHES.values()) + " | pairs | dropped (dup./trivial) | added |",
             "| --- " * (4 + len(EVALUATIONS) + len(DATA_SEARCHES)) + "| --- |"]
    for row in rows:
        dropped = (f"{row.dropped.get('duplicate', 0)}/{row.dropped.get('trivial', 0)}"
                   if row.added is not None else "-")
        cells = [str(row.round), str(row.corpus_pairs), *(_solved(row, s) for s in EVALUATIONS),
                 *(_solved(row, s) for s in DATA_SEARCHES), "-" if row.pairs is None else str(row.pairs),
                 dropped, "-" if row.added is None else str(row.added)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![solve rate by round on each held-out set]({plot_name})", "",
              f"Growth rule: {(manifest.get('growth') or {}).get('rule', '')}.", "", *minimise_lines(rows),
              "Per-stage details: `round-NN/<stage>.done.json`; each round's SFT/DPO data: `round-NN/data/`; "
              "the pairs it added: `round-NN/growth/`."]
    return "\n".join(lines + tactic_markdown(rows)) + "\n"


def minimise_lines(rows: list[CorpusRound]) -> list[str]:
    """What proof minimisation did to each round's data proofs (with --minimise-proofs; none without)."""
    done = [row for row in rows if row.minimised is not None]
    if not done:
        return []
    parts = []
    for row in done:
        m = row.minimised or {}
        parts.append(f"round {row.round}: {m['minimised']} of {m['minimised'] + m['minimal']} multi-step "
                     f"proofs shortened by {m['steps_removed']} steps ({m['rejected']} shorter proofs "
                     f"rejected by verification, {m['not_replayed']} not replayed, {m['refused']} refused by "
                     "the tactic filter)")
    return ["Proofs minimised before they became data: " + "; ".join(parts) + ".", ""]


def tactic_markdown(rows: list[CorpusRound]) -> list[str]:
    """The tactic model's table (nothing when the run has none): per round, the pairs trained on and the
    held-out metrics before and after."""
    shown = [row for row in rows if row.tactic is not None]
    if not shown:
        return []
    first = shown[0].tactic or {}
    k, heldout = first["before"]["k"], first["before"]["pairs"]
    lines = ["", "## Tactic model: held-out tactic prediction", "",
             f"`{first['model']}` trained through TRL on the data corpus r holds (round 0: the traced train "
             f"pairs; round r: what round r-1 added), evaluated on {heldout} held-out pairs of the standard "
             f"library's test files (top-k: {k} beams; before: round 0's initial model, then the previous "
             "round's). No round trains on a pair whose state is a held-out pair's. Details: "
             "`round-NN/tactic_model.done.json`, plan: `tactic-model/plan.json`.", "",
             "| round | pairs trained | training | perplexity before | perplexity after | NLL/tactic after "
             f"| top-1 before | top-1 after | top-{k} before | top-{k} after |",
             "| --- " * 10 + "|"]
    for row in shown:
        t = row.tactic or {}
        before, after = t["before"], t["after"]
        training = (f"{t['steps']} steps, {t['train_seconds']:.0f} s on {t['device']}"
                    + (" (time limit)" if t["time_limited"] else "")) if t["steps"] else "-"
        lines.append(f"| {row.round} | {trained_text(t)} | {training} "
                     f"| {before['perplexity']:.2f} | {after['perplexity']:.2f} "
                     f"| {after['nll_per_tactic']:.2f} | {before['top1']:.1%} | {after['top1']:.1%} "
                     f"| {before['topk']:.1%} | {after['topk']:.1%} |")
    return lines


def trained_text(tactic: dict[str, Any]) -> str:
    """The pairs a round trained on, of those it was given, and why the others were left out."""
    reasons = [f"{tactic[key]} {text}" for key, text in (("duplicate", "already trained on"),
                                                         ("too_long", "too long"),
                                                         ("heldout_state", "on held-out states left out"))
               if tactic.get(key)]
    given = tactic.get("given")
    return (f"{tactic['trained_pairs']}" + (f" of {given}" if given is not None else "")
            + (f" ({', '.join(reasons)})" if reasons else ""))


def plot(rows: list[CorpusRound], path: Path, title: str, budget: dict[str, Any]) -> None:
    """The report's panels (``figure``), saved to ``path``."""
    save_figure(figure(rows, title, budget), path)


def figure(rows: list[CorpusRound], title: str, budget: dict[str, Any]) -> Any:
    """Two panels: the solve rate per round on each set (held-out sets solid, data searches dashed; 0 to
    100 %), and the pairs the corpus holds beside the traced rows (0 to the largest count, at least 1,
    integer ticks); a third with a tactic model: its held-out perplexity and top-k accuracy after each
    round's training, the initial model's as dotted lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tactic_rows = [r for r in rows if r.tactic is not None]
    fig, axes = plt.subplots(1, 3 if tactic_rows else 2, figsize=(16 if tactic_rows else 11, 3.8))
    rates, corpus = axes[0], axes[1]
    for stages, style in ((EVALUATIONS, "-"), (DATA_SEARCHES, "--")):
        for stage, name in stages.items():
            points = [(r.round, r.rate(stage)) for r in rows if r.rate(stage) is not None]
            if points:
                rates.plot([x for x, _ in points], [100 * (y or 0) for _, y in points], style, marker="o",
                           label=name, clip_on=False)
    rates.set_title(f"solved at {budget_text(budget)} (%)")
    percent_axis(rates, "solved (%)")
    if rates.get_legend_handles_labels()[0]:
        rates.legend(fontsize=8)
    corpus.plot([r.round for r in rows], [r.corpus_pairs for r in rows], marker="o", clip_on=False)
    corpus.set_title("pairs added to the corpus (cumulative)")
    count_axis(corpus, [r.corpus_pairs for r in rows], "pairs")
    shown = [r.round for r in rows] or [0]
    if tactic_rows:
        tactic_panel(axes[2], tactic_rows)
    for axis in axes:
        axis.set_xlabel("round (corpus)")
        axis.set_xticks(shown)
        axis.set_xlim(min(shown) - 0.5, max(shown) + 0.5)
        axis.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tactic_panel(axis: Any, rows: list[CorpusRound]) -> None:
    """The tactic model's held-out perplexity (log scale, left) and top-k accuracy (right, 0 to 100 %) by
    round."""
    tactics = [r.tactic or {} for r in rows]
    xs = [r.round for r in rows]
    initial = tactics[0]["before"]
    axis.plot(xs, [t["after"]["perplexity"] for t in tactics], marker="o", color="tab:red",
              label="perplexity")
    axis.axhline(initial["perplexity"], color="tab:red", linestyle=":", label="perplexity, initial model")
    axis.set_yscale("log")
    axis.set_ylabel("perplexity (log scale)")
    axis.set_title(f"tactic model on {initial['pairs']} held-out pairs")
    accuracy = axis.twinx()
    accuracy.plot(xs, [100 * t["after"]["topk"] for t in tactics], marker="s", color="tab:blue",
                  label=f"top-{initial['k']} (%)", clip_on=False)
    accuracy.axhline(100 * initial["topk"], color="tab:blue", linestyle=":")
    percent_axis(accuracy, f"top-{initial['k']} accuracy (%)")
    handles = [*axis.get_legend_handles_labels()[0], *accuracy.get_legend_handles_labels()[0]]
    axis.legend(handles=handles, fontsize=8)
