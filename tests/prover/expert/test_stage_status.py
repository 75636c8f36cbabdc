"""The model loop's long stages (scoring, training) say what runs, and when it is done."""

from __future__ import annotations

import io

from rich.console import Console

from prover.expert.loop import shown


def test_a_long_stage_runs_under_a_line_saying_what_it_is() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    ran: list[str] = []

    def stage() -> dict:
        ran.append("train")
        return {"steps": 3}

    assert shown(console, "round 1: training (at most 3 steps)", stage)() == {"steps": 3}
    assert ran == ["train"] and "round 1: training (at most 3 steps): done" in out.getvalue()
    assert shown(None, "quiet", stage) is stage  # no console (a library caller): the stage as it is
