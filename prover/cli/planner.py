"""Command-line glue of the planner: ``--planner`` and the ``--planner-*`` options (built from the planner's
config dataclasses), the settings they make, and how a planned attempt is printed and recorded.

``prover prove`` and ``prover sweep`` call ``add_planner_options`` on their parsers,
``prover.cli.spec.planner_settings`` on the parsed arguments (``None`` without ``--planner``) and, with
settings, ``prove_with_planner``; the output is ``print_planned_result`` (prove) or
``planned_record_fields`` merged into the attempt's record (sweep).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from planner import PlannedResult, PlannerClientConfig, PlannerConfig, PlanRound, SubgoalOutcome
from prover.cli.options import add_config_options
from prover.sweep.planned_record import planned_record_fields

PREFIX = "planner"


def add_planner_options(parser: argparse.ArgumentParser) -> None:
    """``--planner`` and one ``--planner-*`` option per field of the two planner configs."""
    group = parser.add_argument_group(
        "planner", "split the theorem into `have` subgoals with a planner LLM, prove them in order, "
                   "re-plan when one is stuck (Lean REPL and Coq backends)")
    group.add_argument("--planner", action=argparse.BooleanOptionalAction, default=False,
                       help="prove through plans (see the --planner-* options; the endpoint, model and key "
                            "may also come from $PLANNER_BASE_URL, $PLANNER_MODEL, $PLANNER_API_KEY); "
                            "--no-planner overrides a config file's [planner] enabled = true")
    add_config_options(group, PlannerClientConfig, prefix=PREFIX)
    add_config_options(group, PlannerConfig, prefix=PREFIX)


def print_planned_result(console: Console, result: PlannedResult) -> None:
    """The verified proof on stdout (so it can be piped); every round's plan and each subgoal's outcome,
    then the counters, on ``console``."""
    if result.proof is not None:
        print(result.proof.text)
    for round_ in result.rounds:
        console.print(round_table(round_))
    stats = result.stats
    summary = (f"{result.stop_reason.value}: {stats.rounds} round(s), {stats.planner_calls} planner call(s) "
               f"({stats.planner_seconds:.1f} s, {stats.plans_refused} refused), {stats.searches} searches, "
               f"{result.search.expansions} expansions, {stats.wall_seconds:.1f} s")
    if result.direct is not None:
        direct = result.direct
        console.print(f"direct search after planning: {direct.stop_reason.value} after "
                      f"{direct.stats.expansions} expansions", highlight=False)
    colour = "green" if result.proved else "red"
    how = "by a direct search after planning" if result.proved_directly else "through a plan"
    console.print(f"[bold {colour}]{'proved' if result.proved else 'not proved'}[/] {escape(result.theorem)} "
                  f"{how}: {summary}", highlight=False)


def round_table(round_: PlanRound) -> Table:
    """One row per subgoal (and the main goal): outcome, ``have`` line, stop reason, search size."""
    refused = sum(not a.accepted for a in round_.attempts)
    title = f"plan, round {round_.number + 1}"
    if round_.plan is None:
        title += f" ({refused} answer(s), all refused)"
    elif refused:
        title += f" ({refused} answer(s) refused first)"
    table = Table(title=title)
    for column in ("", "subgoal", "outcome", "expansions", "tactics"):
        table.add_column(column)
    if round_.plan is None:
        reasons = [r.render() for a in round_.attempts for r in a.rejections]
        reasons += [p.message for a in round_.attempts for p in a.problems]
        table.add_row("[red]✗[/]", "no usable plan", escape("; ".join(reasons)[:300]) or "-", "", "")
        return table
    tried = {o.index: o for o in round_.subgoals}
    if round_.main is not None:
        tried[-1] = round_.main
    for index, subgoal in enumerate(round_.plan.subgoals):
        table.add_row(*_row(subgoal.text, tried.get(index)))
    table.add_row(*_row("main goal", tried.get(-1)))
    if round_.verdict is not None and not round_.verdict.ok:
        messages = escape("; ".join(round_.verdict.messages)[:300])
        table.add_row("[red]✗[/]", "assembled proof", f"rejected: {messages}", "", "")
    return table


def _row(text: str, outcome: SubgoalOutcome | None) -> tuple[str, str, str, str, str]:
    text = escape(text)
    if outcome is None:
        return "·", text, "not tried", "", ""
    mark = "[green]✓[/]" if outcome.proved else "[red]✗[/]"
    expansions = "" if outcome.stats is None else str(outcome.stats.expansions)
    tactics = "" if outcome.tactics is None else escape("; ".join(outcome.tactics)[:120])
    return mark, text, outcome.stop_reason, expansions, tactics


def write_planned_html(result: PlannedResult, path: Path | None, console: Console) -> None:
    """``prove --planner --html FILE``: the plan's overview at ``FILE``, one self-contained page per search
    in ``FILE``'s ``.searches`` folder (``prover.explorer.plan_pages``)."""
    if path is None:
        return
    from prover.explorer import planned_graphs, write_planned_pages

    fields = planned_record_fields(result)
    write_planned_pages(path, title=result.theorem, planner=fields["planner"], graphs=planned_graphs(result),
                        status=fields["status"], proof_text=fields["proof_text"])
    console.print(Text(f"plan and search graphs: {path}"), highlight=False)
