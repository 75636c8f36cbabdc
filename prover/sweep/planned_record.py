"""A planned attempt as a sweep record: the fields ``prove_with_planner``'s result adds to the record of
the attempt (``prover.sweep.worker``), also what ``prove --planner --html`` draws its pages from."""

from __future__ import annotations

from typing import Any

from planner import PlannedResult


def planned_record_fields(result: PlannedResult) -> dict[str, Any]:
    """The fields of a sweep record (``prover.sweep.worker.make_record``'s keys) for a planned attempt:
    ``status``, ``stop_reason``, ``proof``, ``proof_text``, ``axioms`` (what the kernel check found the
    proof uses), ``stats`` and ``planner`` (the last plan, every
    round with each subgoal's outcome, the planner's counters, the fallback search), and the
    ``trajectory`` of a proof the fallback search found, for expert iteration."""
    record = result.as_dict()
    proof = record["proof"]
    fields = {"status": "proved" if result.proved else "unproved", "stop_reason": record["stop_reason"],
              "proof": None if proof is None else proof["tactics"],
              "proof_text": None if proof is None else proof["text"],
              "axioms": None if proof is None else proof["axioms"], "stats": record["stats"],
              "planner": record["planner"]}
    if result.proved_directly and result.direct is not None and result.direct.graph is not None:
        fields["trajectory"] = result.direct.graph.trajectory()
    return fields
