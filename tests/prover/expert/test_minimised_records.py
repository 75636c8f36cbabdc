"""A round's found proofs made 1-minimal before they become data: in real Coq a detour is dropped and the
shorter proof is verified; a shorter proof the verifier rejects, an unknown theorem or a one-step proof
leave the record as found."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from scripted import QED, MultiScriptedBackend, ScriptedBackend, ScriptedEnv

from prover.expert.minimised_records import minimise_records
from prover.expert.trajectories import steps_of
from search import Theorem
from search.backends.coq import CoqBackend

COQ = Theorem("add_zero", "Theorem add_zero : forall n : nat, n + 0 = n.", "Require Import Arith.")
FOUND = ["intros n", "assert (H : 1 = 1) by reflexivity", "rewrite Nat.add_0_r", "reflexivity"]


def record(theorem: str, proof: list[str], states: list[str]) -> dict[str, Any]:
    trajectory = [{"state": state, "tactic": tactic, "logprob": -0.5 - depth, "depth": depth,
                   "failed": [["lia", "No applicable tactic."]]}
                  for depth, (state, tactic) in enumerate(zip(states, proof, strict=True))]
    return {"theorem": theorem, "attempt": 1, "status": "proved", "proof": proof, "proof_text": "found",
            "trajectory": trajectory, "policy": "p"}


def test_a_detour_is_dropped_and_the_shorter_proof_is_the_verified_data() -> None:
    backend = CoqBackend()
    try:
        session = backend.open(COQ)
        states, state = [], session.initial_state()
        for tactic in FOUND:  # the states the search saw on the found path
            states.append(state.pp)
            state = session.run_tactic(state, tactic)  # type: ignore[assignment]
        session.close()
        found = record("add_zero", FOUND, states)
        one_step = {"theorem": "add_zero", "status": "proved", "proof": ["lia"], "trajectory": []}
        unproved = {"theorem": "add_zero", "status": "unproved", "proof": None}
        records, counts = minimise_records([found, one_step, unproved], {"add_zero": COQ}, backend, timeout=5)
    finally:
        backend.close()
    short = records[0]
    assert short["minimised_from"] == FOUND
    assert len(short["proof"]) < len(FOUND) and not any("assert" in t for t in short["proof"])
    assert short["proof"][0] == "intros n" and "Qed." in short["proof_text"]
    assert [s["depth"] for s in short["trajectory"]] == list(range(len(short["proof"])))
    assert short["trajectory"][0] == found["trajectory"][0]  # same state: log-prob and rejections kept
    assert all(s["failed"] == [] for s in short["trajectory"][1:])  # the state before them changed
    assert [pair["tactic"] for pair, _ in steps_of(short, 0)] == short["proof"]
    assert records[1:] == [one_step, unproved]
    assert counts == {"minimised": 1, "steps_removed": len(FOUND) - len(short["proof"]), "short": 2}


def test_a_rejected_shorter_proof_an_unknown_theorem_and_a_minimal_proof_keep_the_record() -> None:
    env = ScriptedEnv(root="A", moves={"A": {"skip": "A", "x": "B", "done": QED}, "B": {"y": "C"},
                                       "C": {"fin": QED}},
                      rejected_proofs={("done",)})
    backend = ScriptedBackend(env, banned=["sorry"])
    detour = record("t", ["skip", "done"], ["A", "A"])
    minimal = record("t", ["x", "y", "fin"], ["A", "B", "C"])
    stranger = record("other", ["skip", "done"], ["A", "A"])
    tampered = record("t", ["skip", "sorry"], ["A", "A"])  # a results file edited on disk
    records, counts = minimise_records([detour, minimal, stranger, tampered], {"t": Theorem("t", "t")},
                                       backend, timeout=None)
    assert records == [detour, minimal, stranger, tampered]
    assert counts == {"rejected": 1, "minimal": 1, "unknown": 1, "refused": 1}
    assert backend.verified == [("done",)]  # ``done`` alone closes the goal, but the verifier says no
    assert not any(tactic == "sorry" for _, tactic in env.calls)  # the refused tactic was never sent


def test_the_model_loop_s_minimise_stage_feeds_its_collect_stage(tmp_path: Path) -> None:
    from sweep_fixtures import scripted_spec, write_benchmark

    from prover.expert.loop import ExpertRun, collect_stage, minimise_stage
    from prover.expert.trajectories import PAIRS_FILE, load_rows
    from prover.policies.hf_policy_config import HFPolicyConfig
    from prover.sweep import SweepConfig
    from search import SearchConfig

    env = ScriptedEnv(root="A", moves={"A": {"skip": "A'", "done": QED}, "A'": {"done": QED}})
    bench = write_benchmark(tmp_path / "bench.jsonl", {"t": "provable"})
    run = ExpertRun(benchmark=str(bench), spec=scripted_spec(SearchConfig(tactic_timeout=5)),
                    model_policy=HFPolicyConfig(model="unused"), sweep=SweepConfig(),
                    backend_factory=functools.partial(MultiScriptedBackend, {"t": env}))
    folder = tmp_path / "round-01"
    (folder / "sweep").mkdir(parents=True)
    found = record("t", ["skip", "done"], ["A", "A'"])
    (folder / "sweep" / "results.jsonl").write_text(json.dumps(found) + "\n")
    assert minimise_stage(run, folder, run.spec) == {"minimised": 1, "steps_removed": 1}
    manifest = collect_stage(folder, 1, minimised=True)
    assert manifest["sources"] == [str((folder / "minimised").resolve())]
    assert [(p["state"], p["tactic"]) for p in load_rows(folder / "data" / PAIRS_FILE)] == [("A", "done")]


COMMENTED = "Theorem add_zero : forall n : nat, (* n is a natural number *) n + 0 = n."


def coq_spec(policy: Any = None) -> Any:
    from prover.backends import BackendSettings
    from prover.policies.spec import PolicySpec
    from prover.run_spec import RunSpec
    from search import SearchConfig
    from search.backends.coq.config import CoqBackendConfig

    return RunSpec(backend=BackendSettings("coq", CoqBackendConfig()),
                   policy=policy or PolicySpec("tactics", "coq"), search=SearchConfig(tactic_timeout=5))


def commented_bench(path: Path) -> Path:
    """A Coq benchmark whose statement holds a comment (as miniF2F-rocq's amc12b_2020_p5 does)."""
    path.write_text(json.dumps({"name": "add_zero", "split": "valid", "header": COQ.header,
                                "statement": COMMENTED}) + "\n")
    return path


def test_the_model_loop_minimises_a_coq_theorem_whose_statement_holds_a_comment(tmp_path: Path) -> None:
    """The sweep reads a Coq statement without its comments; so must the minimise stage, or Coq's safety
    check refuses the statement and every proof stays as found (``unopened``)."""
    from prover.expert.loop import ExpertRun, minimise_stage
    from prover.policies.hf_policy_config import HFPolicyConfig
    from prover.sweep import SweepConfig

    run = ExpertRun(benchmark=str(commented_bench(tmp_path / "bench.jsonl")), spec=coq_spec(),
                    model_policy=HFPolicyConfig(model="unused"), sweep=SweepConfig())
    folder = tmp_path / "round-01"
    (folder / "sweep").mkdir(parents=True)
    found = record("add_zero", FOUND, ["s0", "s1", "s2", "s3"])
    (folder / "sweep" / "results.jsonl").write_text(json.dumps(found) + "\n")
    counts = minimise_stage(run, folder, run.spec)
    assert counts["minimised"] == 1 and "unopened" not in counts, counts


def test_the_retrieval_loop_minimises_a_coq_theorem_whose_statement_holds_a_comment(tmp_path: Path) -> None:
    from prover.expert import ExpertConfig
    from prover.expert.corpus_rounds import CorpusRounds
    from prover.expert.heldout import split_rows, write_part
    from prover.expert.retrieval_run import RetrievalRun
    from prover.expert.stages import round_dir
    from prover.policies.spec import PolicySpec
    from prover.retrieval.policy import RetrievalConfig
    from prover.sweep import SweepConfig
    from prover.sweep.benchmark import load_benchmark

    bench = commented_bench(tmp_path / "bench.jsonl")
    spec = coq_spec(PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(corpus="unused")))
    rounds = CorpusRounds(ExpertConfig(out=str(tmp_path / "run"), minimise_proofs=True),
                          RetrievalRun(benchmark=str(bench), spec=spec, sweep=SweepConfig()), None)
    rounds.parts = split_rows(load_benchmark(bench), 0)  # as the plan reads the rows
    write_part(rounds.part_file("data"), bench, rounds.parts.data)
    search = round_dir(rounds.out, 0) / "search"
    search.mkdir(parents=True)
    found = record("add_zero", FOUND, ["s0", "s1", "s2", "s3"])
    (search / "results.jsonl").write_text(json.dumps(found) + "\n")
    counts = rounds.minimise(0)
    assert counts["minimised"] == 1 and "unopened" not in counts, counts
    assert "(*" not in rounds.data_theorems()["add_zero"].statement
