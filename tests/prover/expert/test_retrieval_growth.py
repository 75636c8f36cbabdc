"""The stated rules of the retrieval expert-iteration loop, without Coq or Ray: the held-out split of the
benchmark's rows, the corpus-growth filter (duplicates, trivial one-step proofs, the perplexity filter
where a model scores), the run manifest that a resume must match, and the per-round report."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from prover.expert.config import FilterConfig
from prover.expert.corpus_growth import grow, index_pairs, trivial_pairs
from prover.expert.heldout import is_heldout, split_rows, write_part
from prover.expert.retrieval_report import is_retrieval_run, write_retrieval_report
from prover.expert.run_manifest import RunMismatchError, check_run
from prover.expert.stages import write_json
from prover.expert.stdlib_rounds import spread
from prover.retrieval.index import RetrievalIndex
from prover.sweep.benchmark import BenchmarkItem, load_benchmark
from prover.theorem_input import InputError
from search.backends.coq import CoqTacticPolicy
from search.types import Theorem


def item(name: str, line: int = 1, invalid: str | None = None) -> BenchmarkItem:
    return BenchmarkItem(Theorem(name, f"Theorem {name} : True."), "valid", line, invalid)


def test_the_held_out_split_is_the_documented_hash_rule() -> None:
    names = [f"thm_{i}" for i in range(2000)]
    for name in names[:50]:
        assert is_heldout(name, 25) == (int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 100 < 25)
    share = sum(is_heldout(name, 25) for name in names) / len(names)
    assert 0.22 < share < 0.28
    assert not any(is_heldout(name, 0) for name in names)
    items = [item(name, number) for number, name in enumerate(names[:200], start=1)]
    parts = split_rows(items, 25)
    shuffled = split_rows(random.Random(0).sample(items, len(items)), 25)  # order does not decide the side
    assert {i.theorem.name for i in parts.heldout} == {i.theorem.name for i in shuffled.heldout}
    assert len(parts.heldout) + len(parts.data) == 200 and not {*parts.heldout} & {*parts.data}
    assert [i.line for i in parts.data] == sorted(i.line for i in parts.data)  # file order
    limited = split_rows([*items, item("broken", 201, invalid="coq_8_16: ...")], 25, data_limit=10,
                         heldout_limit=3)
    assert limited.data == parts.data[:10] and limited.heldout == parts.heldout[:3]
    assert limited.invalid == ("broken",)
    manifest = limited.manifest(25)
    assert manifest["heldout_percent"] == 25 and "sha256(name)" in manifest["rule"]


def test_a_part_keeps_the_rows_as_the_benchmark_has_them(tmp_path: Path) -> None:
    source = tmp_path / "bench.jsonl"
    rows = [{"name": f"t{i}", "split": "valid", "header": "Require Import Arith.",
             "statement": f"Theorem t{i} : {i} = {i}.", "source": f"file{i}.v"} for i in range(6)]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    parts = split_rows(load_benchmark(source), 50)
    assert parts.heldout and parts.data
    write_part(tmp_path / "heldout.jsonl", source, parts.heldout)
    written = [json.loads(x) for x in (tmp_path / "heldout.jsonl").read_text().splitlines()]
    assert written == [r for r in rows if is_heldout(r["name"], 50)]


ROOT = "1 goal\n  ============================\n  2 + 2 = 4"
DOUBLE = "1 goal\n  ============================\n  double 2 = 4"
REV = "1 goal\n  xs : list nat\n  ============================\n  rev (rev xs) = xs"


def proved(name: str, *steps: tuple[str, str]) -> dict:
    return {"theorem": name, "status": "proved", "proof": [t for _, t in steps],
            "trajectory": [{"state": s, "tactic": t, "logprob": -1.0, "depth": d, "failed": []}
                           for d, (s, t) in enumerate(steps)]}


def test_trivial_proofs_are_one_tactic_the_tactic_list_proposes_at_the_root() -> None:
    double = Theorem("double_two", "Theorem double_two : double 2 = 4.",
                     "Definition double (n : nat) := n + n.")
    records = [proved("arith", (ROOT, "lia")), proved("lemma", (REV, "apply rev_involutive")),
               proved("two_steps", (ROOT, "simpl"), ("1 goal\n  ============================\n  4 = 4",
                                                     "reflexivity")),
               {"theorem": "open", "status": "unproved", "proof": None, "trajectory": None},
               proved("double_two", (DOUBLE, "unfold double in *"))]
    policy = CoqTacticPolicy()
    assert trivial_pairs(records, policy, {"double_two": double}) == {(ROOT, "lia"),
                                                                     (DOUBLE, "unfold double in *")}
    # the list proposes the unfold only once it knows the header's definitions, as a search does
    assert trivial_pairs(records, policy, {}) == {(ROOT, "lia")}


def pair(state: str, tactic: str, theorem: str = "t") -> dict:
    return {"state": state, "tactic": tactic, "theorem": theorem, "occurrences": 1}


def test_growth_drops_duplicates_of_the_corpus_and_trivial_proofs_and_counts_them() -> None:
    index = RetrievalIndex.from_pairs([(REV, "apply rev_involutive"), (ROOT, "reflexivity")])
    known = index_pairs(index)
    assert known(REV, "apply rev_involutive") and not known(REV, "reflexivity")
    pairs = [pair(REV, "apply rev_involutive"), pair(ROOT, "lia"), pair(ROOT, "reflexivity"),
             pair(REV, "induction xs"), pair(DOUBLE, "simpl")]
    growth = grow(pairs, known=known, trivial={(ROOT, "lia")})
    assert [(p["state"], p["tactic"]) for p in growth.added] == [(REV, "induction xs"), (DOUBLE, "simpl")]
    summary = growth.summary()
    assert summary["collected"] == 5 and summary["added"] == 2
    assert summary["dropped"] == {"duplicate": 2, "trivial": 1, "easy": 0, "noisy": 0, "too_long": 0}
    assert summary["examples"]["trivial"][0]["tactic"] == "lia"
    kept_trivial = grow(pairs, known=known, trivial={(ROOT, "lia")}, drop_trivial=False)
    assert len(kept_trivial.added) == 3 and not kept_trivial.dropped["trivial"]


def test_where_a_model_scores_the_pairs_the_perplexity_filter_applies_after_the_rule() -> None:
    pairs = [pair(f"s{i}", "t") for i in range(8)] + [pair(REV, "apply rev_involutive")]
    scores: list[float | None] = [0.001, 1.0, 1.1, 1.2, 1.3, 1.4, 9.0, None, 0.5]
    config = FilterConfig(min_pairs=2, easy_quantile_min=0.1, noisy_quantile_min=0.1)
    growth = grow(pairs, known=lambda s, t: s == REV, trivial=set(), scores=scores, filter_config=config)
    assert growth.dropped["duplicate"] == [pairs[8]]  # not scored: the rule came first
    assert [p["state"] for p in growth.dropped["easy"]] == ["s0"]
    assert [p["state"] for p in growth.dropped["noisy"]] == ["s6"]
    assert [p["state"] for p in growth.dropped["too_long"]] == ["s7"]
    assert [p["state"] for p in growth.added] == ["s1", "s2", "s3", "s4", "s5"]
    with pytest.raises(ValueError, match="9 pairs but 2 scores"):
        grow(pairs, known=lambda s, t: False, trivial=set(), scores=[1.0, 2.0], filter_config=config)


def test_the_sample_spread_rule() -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6] and spread([1, 2], 5) == [1, 2]


def test_a_resume_must_be_the_same_run(tmp_path: Path) -> None:
    manifest = {"loop": "retrieval", "benchmark": "b.jsonl", "budget": {"max_expansions": 8},
                "parts": {"heldout": ["a"], "data": ["b", "c"]}, "retrieval": {"neighbours": 16}}
    check_run(tmp_path, manifest)
    check_run(tmp_path, json.loads(json.dumps(manifest)))  # the same run: resumed
    for key, value in (("budget", {"max_expansions": 16}), ("parts", {"heldout": [], "data": ["a"]})):
        with pytest.raises(RunMismatchError, match=f"another {key}") as caught:
            check_run(tmp_path, manifest | {key: value})
        assert isinstance(caught.value, InputError) and caught.value.key == key
    growth = {"rule": "a long rule " * 20, "drop_trivial": False, "scoring_model": None}
    check_run(tmp_path / "g", manifest | {"growth": growth})
    with pytest.raises(RunMismatchError) as caught:  # the changed setting, not its whole group
        check_run(tmp_path / "g", manifest | {"growth": growth | {"drop_trivial": True}})
    assert "growth.drop_trivial: False there, True now" in str(caught.value)
    assert "a long rule" not in str(caught.value)


def test_a_resume_after_the_benchmark_changed_is_refused_and_new_keys_are_not_compared(
        tmp_path: Path) -> None:
    from prover.sweep.freshness import benchmark_digest

    before = [Theorem("a", "Theorem a : True."), Theorem("b", "Theorem b : True.")]
    after = [before[0], Theorem("b", "Theorem b : False.")]
    manifest = {"loop": "retrieval", "benchmark": "b.jsonl"}
    check_run(tmp_path, manifest)  # a run written before benchmark digests
    check_run(tmp_path, manifest | {"benchmark_digest": benchmark_digest(before)})  # not compared
    (tmp_path / "run.json").unlink()
    check_run(tmp_path, manifest | {"benchmark_digest": benchmark_digest(before)})
    assert benchmark_digest(list(reversed(before))) == benchmark_digest(before)
    with pytest.raises(RunMismatchError, match="another benchmark_digest"):
        check_run(tmp_path, manifest | {"benchmark_digest": benchmark_digest(after)})
    # only keys added to the manifest since may be missing: a model run's manifest is another run's
    with pytest.raises(RunMismatchError, match="another base_model"):
        check_run(tmp_path, {"benchmark": "b.jsonl", "base_model": "/m"}, keys=("benchmark", "base_model"))


def test_the_report_shows_the_solve_rate_by_round_on_each_held_out_set(tmp_path: Path) -> None:
    write_json(tmp_path / "run.json", {"loop": "retrieval", "budget": {"time_limit": 15.0},
                                       "parts": {"heldout": ["a", "b"], "heldout_percent": 25}})
    for number, (held, test, added) in enumerate(((1, 2, 3), (2, 3, 1), (2, 5, None))):
        folder = tmp_path / f"round-{number:02d}"
        write_json(folder / "heldout.done.json", {"proved": held, "valid": 4})
        write_json(folder / "stdlib_test.done.json", {"proved": test, "valid": 10})
        if added is not None:
            write_json(folder / "search.done.json", {"proved": 5, "valid": 8})
            write_json(folder / "collect.done.json", {"counts": {"pairs": 7, "preferences": 2}})
            write_json(folder / "grow.done.json", {"added": added, "dropped": {"duplicate": 2, "trivial": 1},
                                                   "collected": 7, "corpus_pairs": 0})
    assert is_retrieval_run(tmp_path) and not is_retrieval_run(tmp_path / "round-00")
    report = write_retrieval_report(tmp_path, "bench")
    assert [r.corpus_pairs for r in report.rounds] == [0, 3, 4]
    assert [r.rate("heldout") for r in report.rounds] == [0.25, 0.5, 0.5]
    assert [r.rate("stdlib_test") for r in report.rounds] == [0.2, 0.3, 0.5]
    text = report.paths["markdown"].read_text()
    assert "| 2 | 4 | 2/4 (50.0%) | 5/10 (50.0%) | - | - | - | - | - |" in text and "15 s" in text
    assert json.loads(report.paths["json"].read_text())["rounds"][1]["rates"]["heldout"] == 0.5
    assert report.paths["plot"].stat().st_size > 0
    with pytest.raises(InputError, match="holds no retrieval expert-iteration run"):
        write_retrieval_report(tmp_path / "round-00", "x")


def test_a_configured_model_scores_the_pairs_for_the_perplexity_filter(base_model_dir: Path) -> None:
    from expert_fixtures import torch_threads

    from prover.expert.corpus_growth import score_pairs

    tactics = ("omega", "simp", "rfl", "omega", "linarith", "ring")
    pairs = [pair(f"x : nat\n⊢ x + {i} = {i} + x", tactic) for i, tactic in enumerate(tactics)]
    pairs.append(pair("⊢ " + "a + " * 400 + "a = a", "simp"))
    config = FilterConfig(device="cpu", max_length=64, min_pairs=2)
    with torch_threads(1):
        scores = score_pairs(str(base_model_dir), pairs, config)
    assert len(scores) == 7 and scores[-1] is None  # longer than max_length: not scored
    assert all(isinstance(x, float) and x > 0 for x in scores[:-1])
    growth = grow(pairs, known=lambda s, t: False, trivial=set(), scores=scores, filter_config=config)
    assert [row["state"] for row in growth.dropped["too_long"]] == [pairs[-1]["state"]]
    assert all(row["perplexity"] is not None for row in growth.added)  # the filter's scores are kept
    assert len(growth.added) + len(growth.dropped["easy"]) + len(growth.dropped["noisy"]) == 6
    assert score_pairs(str(base_model_dir), [], config) == []
