"""The final report of a sweep: pass rates per split, pass@k, per-theorem cost, and a budget plot."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.atomic_files import save_figure, write_json_atomic, write_text_atomic
from prover.sweep.benchmark import BenchmarkItem
from prover.sweep.beyond_limit import UncountedResults
from prover.sweep.graph_pages import existing_pages
from prover.sweep.report_html import report_html


@dataclass
class TheoremOutcome:
    name: str
    split: str
    status: str  # proved, unproved, invalid, error, pending
    attempts: int = 0
    proved_at: int | None = None  # the attempt that proved it
    expansions: int = 0  # over all attempts
    seconds: float = 0.0
    proof: list[str] | None = None
    axioms: list[str] | None = None  # the axioms the proof depends on, by kernel name (None: not proved)
    message: str | None = None
    stop_reason: str | None = None  # why the last attempt stopped (exhausted, time_budget, ...)
    planner: dict[str, Any] | None = None  # the last attempt's plans and subgoal outcomes (--planner)
    page: str | None = None  # its search-graph explorer page, relative to the results folder


@dataclass
class SweepSummary:
    total: int
    proved: int
    invalid: int
    errors: int
    pending: int
    by_split: dict[str, dict[str, Any]] = field(default_factory=dict)
    pass_at: dict[int, float] = field(default_factory=dict)
    theorems: list[TheoremOutcome] = field(default_factory=list)
    cache: dict[str, Any] | None = None  # the shared proof cache's statistics, for this run
    workers_replaced: int = 0  # workers (or their nodes) that died in this run and were replaced
    imports: list[str] = field(default_factory=list)  # libraries the backend loaded after each header
    budget: dict[str, Any] | None = None  # per theorem over all attempts (budget_of): the plot's extent
    uncounted: UncountedResults | None = None  # results in the folder this report leaves out (beyond_limit)

    @property
    def pass_rate(self) -> float:
        valid = self.total - self.invalid
        return self.proved / valid if valid else 0.0

    def headline(self) -> str:
        """The report's first sentence: the rate over every valid theorem (one not yet finished counts as
        unproved) and, while some are unfinished (a stopped sweep), the rate over the finished ones."""
        valid = self.total - self.invalid
        finished = valid - self.pending
        so_far = (f" ({self.proved} of the {finished} finished: {self.proved / finished:.1%})"
                  if self.pending and finished else "")
        return (f"Proved {self.proved} of {valid} valid theorems ({self.pass_rate:.1%}){so_far}; "
                f"{self.invalid} invalid statements, {self.errors} errors, {self.pending} with attempts "
                "still to run.")


FINAL = ("proved", "invalid")  # the statuses that end a theorem's attempts


def next_attempt(judged: set[int], attempts: int) -> int | None:
    """The first of attempts 1 .. ``attempts`` without a verdict (``judged``: those with one), or ``None``
    when every one has one (an older folder may have gaps: an error a next attempt followed)."""
    return next((k for k in range(1, attempts + 1) if k not in judged), None)


def outcomes(items: Sequence[BenchmarkItem], records: Sequence[dict[str, Any]],
             attempts: int = 1) -> list[TheoremOutcome]:
    """Each theorem's outcome over its records: ``pending`` until it has one, and while an unproved
    theorem has attempts of the ``attempts`` still to run (an interrupted pass@N sweep)."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_name[record["theorem"]].append(record)
    result = []
    for item in items:
        runs = sorted(by_name.get(item.theorem.name, []), key=lambda r: r["attempt"])
        judged = {run["attempt"] for run in runs if run["status"] != "error"}  # attempts with a verdict
        status = "pending" if not runs else runs[-1]["status"]
        if status not in ("proved", "invalid", "error") and next_attempt(judged, attempts) is not None:
            status = "pending"
        out = TheoremOutcome(item.theorem.name, item.split, status)
        out.attempts = len(judged)
        for run in runs:
            out.expansions += (run.get("stats") or {}).get("expansions", 0)
            out.seconds += run.get("seconds", 0.0)
            out.message = run.get("message") or out.message
            out.stop_reason = run.get("stop_reason") or out.stop_reason
            out.planner = run.get("planner") or out.planner
            if run["status"] == "proved" and out.proved_at is None:
                out.proved_at, out.proof, out.status = run["attempt"], run["proof"], "proved"
                out.axioms = run.get("axioms")
        result.append(out)
    return result


def summarise(items: Sequence[BenchmarkItem], records: Sequence[dict[str, Any]],
              attempts: int) -> SweepSummary:
    theorems = outcomes(items, records, attempts)
    count = lambda status, group=theorems: sum(t.status == status for t in group)  # noqa: E731
    summary = SweepSummary(total=len(theorems), proved=count("proved"), invalid=count("invalid"),
                           errors=count("error"), pending=count("pending"), theorems=theorems)
    for split in sorted({t.split for t in theorems}):
        group = [t for t in theorems if t.split == split]
        valid = len(group) - count("invalid", group)
        summary.by_split[split] = {"total": len(group), "valid": valid, "proved": count("proved", group),
                                   "pass_rate": count("proved", group) / valid if valid else 0.0}
    valid = summary.total - summary.invalid
    # pass@k only once every valid theorem has had its k attempts (or a proof before): never a partial one
    reached = min((attempts if t.proved_at is not None else t.attempts for t in theorems
                   if t.status not in ("invalid", "error")), default=attempts)  # errors count as unproved
    for k in range(1, min(attempts, reached) + 1):
        solved = sum(1 for t in theorems if t.proved_at is not None and t.proved_at <= k)
        summary.pass_at[k] = solved / valid if valid else 0.0
    return summary


def write_report(summary: SweepSummary, folder: Path, title: str) -> dict[str, Path]:
    """Write report.md, report.html, report.json and solved_vs_budget.png into ``folder``; return their
    paths."""
    paths = {"markdown": folder / "report.md", "html": folder / "report.html", "json": folder / "report.json",
             "plot": folder / "solved_vs_budget.png"}
    pages = existing_pages(folder, [t.name for t in summary.theorems])
    for theorem in summary.theorems:
        theorem.page = pages.get(theorem.name)
    data = asdict(summary) | {"pass_rate": summary.pass_rate}
    if summary.uncounted:
        data["uncounted"] |= {"message": summary.uncounted.sentence()}
    else:
        data["uncounted"] = None
    write_json_atomic(paths["json"], data)
    write_text_atomic(paths["markdown"], markdown(summary, title, paths["plot"].name))
    write_text_atomic(paths["html"], report_html(summary, title, paths["plot"].name))
    plot(summary, paths["plot"], title)
    return paths


def report_title(benchmark: Path, split: str | None) -> str:
    return f"{benchmark.stem} {split or 'all splits'}"


def markdown(summary: SweepSummary, title: str, plot_name: str) -> str:
    lines = [f"# Sweep: {md(title)}", "",
             summary.headline(), "",
             *([summary.uncounted.sentence(), ""] if summary.uncounted else []),  # our words only
             "| split | theorems | valid | proved | pass rate |", "| --- | --- | --- | --- | --- |"]
    for split, row in summary.by_split.items():
        lines.append(f"| {md(split) or '-'} | {row['total']} | {row['valid']} | {row['proved']} | "
                     f"{row['pass_rate']:.1%} |")
    lines += ["", "| attempts | pass rate |", "| --- | --- |"]
    lines += [f"| pass@{k} | {rate:.1%} |" for k, rate in summary.pass_at.items()]
    if summary.pending:
        lines += ["", f"pass@k is shown once every theorem has had k attempts: {summary.pending} theorem(s) "
                  "have attempts still to run."]
    if summary.imports:
        lines += ["", "Libraries loaded after each header for the policy's tactics (in every session and "
                  "every verified proof): " + " ".join(f"`{sentence}`" for sentence in summary.imports)]
    if summary.workers_replaced:
        lines += ["", f"{summary.workers_replaced} worker(s) died during this run; their theorems were "
                  "retried on replacement workers."]
    if summary.cache:
        c = summary.cache
        lines += ["", f"Shared proof cache: searches completed {c['search_hits']} states from cached "
                  f"proofs and skipped {c['search_skips']} known failures; the cache holds {c['proofs']} "
                  f"proved and {c['failures']} failed goals."]
    lines += ["", f"![solved against budget]({plot_name})", "",
              "| theorem | split | status | attempts | expansions | seconds |",
              "| --- | --- | --- | --- | --- | --- |"]
    for t in summary.theorems:
        name = f"[{md(t.name)}]({t.page})" if t.page else md(t.name)  # the page: the search graph
        why = f" ({md(t.stop_reason)})" if t.status == "unproved" and t.stop_reason else ""
        lines.append(f"| {name} | {md(t.split)} | {t.status}{why} | {t.attempts} | {t.expansions} | "
                     f"{t.seconds:.1f} |")
    lines += invalid_lines(summary.theorems)
    lines += axiom_lines(summary.theorems)
    lines += plan_lines(summary.theorems)
    return "\n".join(lines) + "\n"


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`\[\]()!#|])")  # links, images, code, headings, cells
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")


def md(text: str) -> str:
    """``text`` as literal Markdown on one line: what could make a link, an image, code, a heading or a
    table cell backslash-escaped, HTML brackets as entities, every line break a space (names, splits and
    Coq's messages come from the benchmark and the proof assistant; ``_`` and ``*`` are left alone: inside
    names they make no emphasis, and emphasis can do no harm)."""
    flat = _LINE_BREAKS.sub(" ", text)
    return (_MARKDOWN_PUNCTUATION.sub(r"\\\1", flat).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def code(text: str) -> str:
    """``text`` as one inline code span: a backtick fence longer than any run of backticks in it, on one
    line (a plan's subgoal, written by a model)."""
    flat = _LINE_BREAKS.sub(" ", text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{flat}{pad}{fence}"


def axiom_lines(theorems: Sequence[TheoremOutcome]) -> list[str]:
    """Each proved theorem with the axioms its kernel-checked proof depends on."""
    proved = [t for t in theorems if t.status == "proved"]
    if not proved:
        return []
    lines = ["", "## Axioms of the proofs", ""]
    for t in proved:
        axioms = ", ".join(f"`{a}`" for a in t.axioms) if t.axioms else "none"
        lines.append(f"- {md(t.name)}: {axioms if t.axioms is not None else 'not recorded'}")
    return lines


def invalid_lines(theorems: Sequence[TheoremOutcome]) -> list[str]:
    """Each invalid statement with the reason it was not (or could not be) searched."""
    invalid = [t for t in theorems if t.status == "invalid"]
    if not invalid:
        return []
    lines = ["", "## Invalid statements", ""]
    for t in invalid:
        reason = " ".join((t.message or "no reason recorded").split())
        lines.append(f"- {md(t.name)}: {md(reason[:300])}")
    return lines


def plan_lines(theorems: Sequence[TheoremOutcome]) -> list[str]:
    """Each planned theorem's rounds: the subgoals with their outcome, then the main goal."""
    lines: list[str] = []
    for t in theorems:
        if not t.planner:
            continue
        lines += ["", f"### Plans for {md(t.name)} ({t.status})"]
        for round_ in t.planner.get("rounds", []):
            lines.append(f"- round {round_['round'] + 1}: " + md(round_.get("failure") or "ended"))
            outcomes = [*round_.get("subgoals", []), *([round_["main"]] if round_.get("main") else [])]
            for goal in outcomes:
                mark = "proved" if goal["proved"] else md(str(goal["stop_reason"]))
                lines.append(f"  - {code(goal['text'])}: {mark} ({goal.get('expansions') or 0} expansions)")
        direct = t.planner.get("direct")
        if direct:
            lines.append(f"- direct search after planning: {direct['stop_reason']} "
                         f"({direct['expansions']} expansions)")
    return lines


def budget_of(search: dict[str, Any], attempts: int) -> dict[str, Any]:
    """A sweep's budget per theorem over all its attempts, from the search settings (a ``SearchConfig``
    as a dict): ``expansions`` and ``seconds``, ``None`` where unlimited."""
    def total(value: Any) -> float | None:
        return None if value is None else value * attempts

    return {"attempts": attempts, "expansions": total(search.get("max_expansions")),
            "seconds": total(search.get("time_limit"))}


def budget_figure(summary: SweepSummary, title: str) -> Any:
    """Cumulative theorems solved against the expansions and seconds their proof needed, each axis run
    out to the budget (marked) or to the most any theorem used, with the number of valid theorems
    marked: how far the curve stays below it is what the budget left unsolved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    valid = summary.total - summary.invalid
    solved = [t for t in summary.theorems if t.status == "proved"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key in ((axes[0], "expansions"), (axes[1], "seconds")):
        costs = sorted(float(getattr(t, key)) for t in solved)
        budget = (summary.budget or {}).get(key)
        spent = max((float(getattr(t, key)) for t in summary.theorems), default=0.0)
        end = max(budget or 0.0, spent, 1.0)
        axis.step([0.0, *costs, end], [0, *range(1, len(costs) + 1), len(costs)], where="post",
                  label="theorems solved")
        axis.axhline(valid, linestyle="--", color="grey", label=f"{valid} valid theorems")
        if budget:
            axis.axvline(budget, linestyle=":", color="tab:red", label=f"budget {budget:g} {key}")
        axis.set_xlim(0, end * 1.02)
        axis.set_ylim(0, max(valid, 1) * 1.08)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        if key == "expansions":  # whole expansions, even when every proof took one
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel(f"{key} per theorem (all attempts)")
        axis.set_ylabel("theorems solved")
        axis.legend(loc="lower right", fontsize=8)
        axis.grid(alpha=0.3)
    fig.suptitle(f"{title}: {summary.proved}/{valid} solved")
    fig.tight_layout()
    return fig


def plot(summary: SweepSummary, path: Path, title: str) -> None:
    """Write ``budget_figure`` to ``path`` (PNG)."""
    save_figure(budget_figure(summary, title), path)
