"""The report of an expert-iteration run: per round, theorems solved, pairs collected and kept (and why
the others were dropped), training loss; as Markdown, JSON and a plot.

Built from the stages' markers only, so a resumed run reports earlier rounds exactly as they finished, and
``prover report RUN_DIR`` writes it again from the folder (``write_folder_report``) while the run goes on
or after it stopped."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.atomic_files import save_figure, write_json_atomic, write_text_atomic
from prover.expert.filtering import REASONS
from prover.expert.run_manifest import RUN_MANIFEST
from prover.expert.stages import round_dir, round_numbers, stage_info
from prover.theorem_input import InputError


@dataclass
class RoundMetrics:
    """One round's numbers; ``None`` where its stage has not run. ``evaluation``: the sweep after the last
    round, with the final model (it has no data, filter or training)."""

    round: int
    evaluation: bool = False
    policy: str | None = None
    theorems: int | None = None
    proved: int | None = None
    pass_rate: float | None = None
    pairs: int | None = None
    duplicate_pairs: int | None = None
    preferences: int | None = None
    kept: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    easy_perplexity: float | None = None
    noisy_perplexity: float | None = None
    train_mode: str | None = None
    train_pairs: int | None = None
    train_loss: float | None = None
    train_steps: int | None = None
    model: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class ExpertReport:
    rounds: list[RoundMetrics]
    paths: dict[str, Path]


def round_metrics(folder: Path, round_number: int, *, evaluation: bool = False) -> RoundMetrics:
    """The metrics recorded by the finished stages in ``folder``."""
    m = RoundMetrics(round=round_number, evaluation=evaluation)
    stages = {name: stage_info(folder, name) for name in ("sweep", "collect", "filter", "train")}
    if (sweep := stages["sweep"]) is not None:
        m.policy, m.theorems, m.proved = sweep["policy"], sweep["valid"], sweep["proved"]
        m.pass_rate = sweep["pass_rate"]
    if (collect := stages["collect"]) is not None:
        counts = collect["counts"]
        m.pairs, m.duplicate_pairs = counts.get("pairs", 0), counts.get("duplicate_pairs", 0)
        m.preferences = counts.get("preferences", 0)
    if (kept := stages["filter"]) is not None:
        m.kept, m.dropped = kept["kept"], kept["dropped"]
        m.easy_perplexity, m.noisy_perplexity = kept["easy_perplexity"], kept["noisy_perplexity"]
    if (train := stages["train"]) is not None:
        m.train_mode, m.train_pairs, m.train_loss = train["mode"], train["pairs"], train["train_loss"]
        m.train_steps, m.model = train["steps"], train["model"]
    m.seconds = {name: info["seconds"] for name, info in stages.items() if info is not None}
    return m


def collect_metrics(out: Path, rounds: int, *, evaluation: bool) -> list[RoundMetrics]:
    """Rounds 1..``rounds`` of the run in ``out``, then the evaluation sweep if asked for and done."""
    metrics = [round_metrics(round_dir(out, r), r) for r in range(1, rounds + 1)]
    if evaluation and stage_info(round_dir(out, rounds + 1), "sweep") is not None:
        metrics.append(round_metrics(round_dir(out, rounds + 1), rounds + 1, evaluation=True))
    return metrics


def read_run_manifest(out: Path) -> dict[str, Any] | None:
    """The ``run.json`` of a model expert-iteration run in ``out`` (one naming a base model, not the
    retrieval loop's), or ``None``."""
    try:
        manifest = json.loads((out / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "base_model" not in manifest or manifest.get("loop") == "retrieval":
        return None
    return manifest


def is_model_run(folder: Path) -> bool:
    """Whether ``folder`` holds an expert-iteration run of the model loop (``prover.expert.loop``)."""
    return read_run_manifest(folder) is not None


def is_evaluation(out: Path, round_number: int) -> bool:
    """Whether round ``round_number`` of the run in ``out`` is the final model's evaluation sweep: a sweep
    that marked itself so and no later stage (a rerun with more rounds makes it a round's own sweep). For
    a folder of a loop that did not mark it, the evaluation the loop's own ``report.json`` names."""
    folder = round_dir(out, round_number)
    sweep = stage_info(folder, "sweep")
    if sweep is None or stage_info(folder, "collect") is not None:
        return False
    if "evaluation" in sweep:
        return bool(sweep["evaluation"])
    try:
        earlier = json.loads((out / "report.json").read_text(encoding="utf-8"))["rounds"]
        return any(row["round"] == round_number and row["evaluation"] for row in earlier)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_folder_report(out: Path) -> ExpertReport:
    """Write the report of the run in ``out`` from every round with a finished stage (``prover report``);
    raises ``InputError`` for a folder that holds no model expert-iteration run."""
    manifest = read_run_manifest(out)
    if manifest is None:
        raise InputError(f"{out} holds no expert-iteration run (no {RUN_MANIFEST} naming a base model)")
    metrics = [round_metrics(round_dir(out, number), number, evaluation=is_evaluation(out, number))
               for number in round_numbers(out)]
    metrics = [m for m in metrics if m.seconds]  # rounds that finished a stage
    title = Path(str(manifest.get("benchmark") or out.name)).stem
    return ExpertReport(rounds=metrics, paths=write_report(metrics, out, title))


def write_report(metrics: list[RoundMetrics], out: Path, title: str) -> dict[str, Path]:
    """report.md, report.json and report.png in ``out``; returns their paths."""
    paths = {"markdown": out / "report.md", "json": out / "report.json", "plot": out / "report.png"}
    data: dict[str, Any] = {"title": title, "rounds": [asdict(m) for m in metrics]}
    write_json_atomic(paths["json"], data)
    write_text_atomic(paths["markdown"], markdown(metrics, title, paths["plot"].name))
    plot(metrics, paths["plot"], title)
    return paths


def _cell(value: Any, form: str = "{}") -> str:
    return "-" if value is None else form.format(value)


def _short_policy(policy: str | None) -> str:
    """A run's own models as ``round-NN/model``, other paths by their last part, tactic lists as they are."""
    if policy is None:
        return "-"
    if policy.startswith("tactics:"):
        return policy
    path = Path(policy)
    return f"{path.parent.name}/{path.name}" if path.name == "model" else path.name


def markdown(metrics: list[RoundMetrics], title: str, plot_name: str) -> str:
    lines = [f"# Expert iteration: {title}", "",
             "Round r sweeps with the model round r-1 trained (round 1: the first policy); its proofs give "
             "the pairs that train round r's model. An *evaluation* row is the sweep of the final model.", "",
             "| round | policy | solved | pass rate | pairs (dup.) | preferences | kept | dropped easy/noisy/"
             "long | easy / noisy ppl cut | training | train loss | steps |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m in metrics:
        dropped = "/".join(str(m.dropped.get(r, 0)) for r in REASONS) if m.dropped else "-"
        cuts = f"{_cell(m.easy_perplexity, '{:.3f}')} / {_cell(m.noisy_perplexity, '{:.3f}')}"
        solved = f"{m.proved}/{m.theorems}" if m.proved is not None else "-"
        name = f"{m.round} (evaluation)" if m.evaluation else str(m.round)
        lines.append(f"| {name} | {_short_policy(m.policy)} | {solved} | "
                     f"{_cell(m.pass_rate, '{:.1%}')} | {_cell(m.pairs)} ({_cell(m.duplicate_pairs)}) | "
                     f"{_cell(m.preferences)} | {_cell(m.kept)} | {dropped} | {cuts} | "
                     f"{_cell(m.train_mode)} | {_cell(m.train_loss, '{:.4f}')} | {_cell(m.train_steps)} |")
    lines += ["", f"![theorems solved, pairs and loss per round]({plot_name})", "",
              "Per-stage details: `round-NN/<stage>.done.json`; the filter's thresholds, per-reason drops "
              "and examples: `round-NN/filter/manifest.json`."]
    return "\n".join(lines) + "\n"


def count_axis(axis: Any, values: list[float], label: str) -> None:
    """A count's y axis: 0 to the largest value (at least 1), integer ticks, labelled ``label``."""
    from matplotlib.ticker import MaxNLocator

    axis.set_ylim(0, max([1, *values]))
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel(label)


def percent_axis(axis: Any, label: str) -> None:
    """A percentage's y axis: 0 to 100, labelled ``label``."""
    axis.set_ylim(0, 100)
    axis.set_ylabel(label)


def plot(metrics: list[RoundMetrics], path: Path, title: str) -> None:
    """Three panels per round (``figure``), saved to ``path``."""
    save_figure(figure(metrics, title), path)


def figure(metrics: list[RoundMetrics], title: str) -> Any:
    """Three panels per round: theorems solved, pairs collected vs kept, training loss. Counts run from 0
    to their largest value (at least 1) with integer ticks; a point on the top edge is drawn whole."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    solved = [(m.round, m.proved) for m in metrics if m.proved is not None]
    axes[0].plot([r for r, _ in solved], [p for _, p in solved], marker="o", clip_on=False)
    for m in metrics:
        if m.evaluation and m.proved is not None:
            axes[0].annotate("final model", (m.round, m.proved), textcoords="offset points", xytext=(0, 6),
                             ha="center", fontsize=8)
    axes[0].set_title("theorems solved")
    count_axis(axes[0], [p for _, p in solved if p is not None], "theorems proved")
    rounds = [m for m in metrics if m.pairs is not None]
    axes[1].plot([m.round for m in rounds], [m.pairs for m in rounds], marker="o", label="collected",
                 clip_on=False)
    axes[1].plot([m.round for m in rounds], [m.kept or 0 for m in rounds], marker="s", label="kept",
                 clip_on=False)
    axes[1].set_title("(state, tactic) pairs")
    axes[1].legend()
    count_axis(axes[1], [v for m in rounds for v in (m.pairs or 0, m.kept or 0)], "pairs")
    trained = [m for m in metrics if m.train_loss is not None]
    axes[2].plot([m.round for m in trained], [m.train_loss for m in trained], marker="o")
    axes[2].set_title("training loss (mean over the round)")
    axes[2].set_ylabel("loss")
    rounds_shown = [m.round for m in metrics] or [1]
    for axis in axes:
        axis.set_xlabel("round")
        axis.set_xticks(rounds_shown)
        axis.set_xlim(min(rounds_shown) - 0.5, max(rounds_shown) + 0.5)
        axis.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
