"""A sweep with the retrieval policy builds its index once, in the driver, and its workers search with the
shared copy: they never read the corpus, their policies have the fingerprint of a locally built one, and
the sweep's results are those of workers that build the index themselves."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NoReturn

import pytest
from scripted import QED, MultiScriptedBackend, ScriptedEnv
from sweep_fixtures import scripted_spec

import prover.retrieval.shared_index as shared_index
from prover.policies.spec import PolicySpec
from prover.retrieval.library_premises import LibraryPremisePolicy
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.policy import RetrievalConfig, build_retrieval_policy, library_policy
from prover.retrieval.shared_index import SharedIndexPolicy, share_index
from prover.sweep import SweepConfig, run_sweep
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.schema import StepRow
from search import SearchConfig

# (traced state, tactic): the corpus; each benchmark theorem's root is a renamed copy of one of its states
TRACED = [("m : ℕ\n⊢ m + 0 = m", "simp"),
          ("a b : ℕ\n⊢ a + b = b + a", "exact Nat.add_comm a b"),
          ("p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "exact ⟨hp, hq⟩")]
THEOREMS = {  # name -> (root state, the tactic that closes it)
    "add_zero": ("n : ℕ\n⊢ n + 0 = n", "simp"),
    "add_comm": ("x y : ℕ\n⊢ x + y = y + x", "exact Nat.add_comm x y"),  # the corpus's names mapped
    "and_intro": ("r s : Prop\nhr : r\nhs : s\n⊢ r ∧ s", "exact ⟨hr, hs⟩"),
    "false": ("⊢ False", "contradiction"),  # nothing in the corpus proposes it: unproved
}


def write_corpus(folder: Path) -> Path:
    """A traced dataset of ``TRACED``'s steps, one file."""
    rows = [StepRow("dev", "lean", "Dev/A.lean", f"t{i}", i + 1, 1, 0, state, tactic, "", True, "t")
            for i, (state, tactic) in enumerate(TRACED)]
    proofs = tuple(ProofRecord(f"t{i}", i + 1, "traced", 1) for i in range(len(TRACED)))
    dataset = Dataset(folder)
    dataset.add_unit(UnitRecord("dev", "Dev/A.lean", "t", None, 0, proofs), rows)
    return dataset.path


def write_bench(path: Path) -> Path:
    rows = [{"name": name, "split": "test", "header": "", "statement": f"theorem {name} : P :="}
            for name in THEOREMS]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def backend_factory() -> partial[MultiScriptedBackend]:
    """Picklable: the workers build the scripted backend from importable parts."""
    envs = {name: ScriptedEnv(root=root, moves={root: {tactic: QED}})
            for name, (root, tactic) in THEOREMS.items()}
    return partial(MultiScriptedBackend, envs)


def results(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def outcomes(folder: Path) -> dict[str, tuple[str, list[str] | None]]:
    return {r["theorem"]: (r["status"], r["proof"]) for r in results(folder)}


def test_shared_policies_have_the_fingerprint_of_locally_built_ones(ray_cluster, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "ds")
    for weight in (0.0, 0.5):  # retrieval alone, and mixed with the tactic list
        spec = PolicySpec("retrieval", "lean", retrieval=RetrievalConfig(corpus=str(corpus),
                                                                       tactic_list_weight=weight))
        shared = spec.for_workers()
        assert isinstance(shared, SharedIndexPolicy) and shared.label == spec.label
        local, remote = spec(), shared()
        assert remote.fingerprint is not None and remote.fingerprint == local.fingerprint
        state = "u v : ℕ\n⊢ u + v = v + u"
        assert remote.propose([state], 4) == local.propose([state], 4)
    tactics = PolicySpec("tactics", "lean")
    assert tactics.for_workers() is tactics  # nothing to share


def test_a_corpus_without_rows_is_an_error_in_the_driver(ray_cluster, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "ds")
    with pytest.raises(InputError, match="retrieval corpus"):
        share_index(RetrievalConfig(corpus=str(corpus)), "coq", "retrieval")  # no Coq row in it


def test_sweep_workers_use_the_index_the_driver_built(ray_cluster, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "ds")
    bench = write_bench(tmp_path / "bench.jsonl")
    config = RetrievalConfig(corpus=str(corpus))
    spec = replace(scripted_spec(SearchConfig(max_expansions=4, time_limit=None)),
                   policy=PolicySpec("retrieval", "lean", retrieval=config))
    sweep = SweepConfig(workers=2, worker_cpus=0.5, max_retries=0, graph_pages=False)

    # Baseline: each worker builds its own index from the corpus.
    own = tmp_path / "own"
    run_sweep(replace(sweep, out=str(own)), spec, benchmark=str(bench), backend_factory=backend_factory(),
              policy_factory=partial(build_retrieval_policy, config, "lean"))

    # The driver builds the index once, then the corpus is gone: a worker that read it would fail.
    built: list[str] = []
    real_config_index = shared_index.config_index

    def build_then_remove_corpus(retrieval: RetrievalConfig, assistant: str):
        index = real_config_index(retrieval, assistant)
        built.append(retrieval.corpus)
        corpus.rename(tmp_path / "moved")
        return index

    monkeypatch.setattr(shared_index, "config_index", build_then_remove_corpus)
    shared = tmp_path / "shared"
    summary, _ = run_sweep(replace(sweep, out=str(shared)), spec, benchmark=str(bench),
                           backend_factory=backend_factory())
    assert built == [str(corpus)] and not corpus.exists()
    assert outcomes(shared) == outcomes(own) == {
        "add_zero": ("proved", ["simp"]), "add_comm": ("proved", ["exact Nat.add_comm x y"]),
        "and_intro": ("proved", ["exact ⟨hr, hs⟩"]), "false": ("unproved", None)}
    assert summary.proved == 3 and summary.errors == 0
    assert {r["policy"] for r in results(shared)} == {spec.policy.label}  # records name the policy as before


def test_workers_get_the_library_premises_the_driver_built(ray_cluster, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With library premises, a worker's policy is built without opening the corpus (on a cluster, only
    the driver's machine may hold it), and names the lemmas the driver read."""
    import ray

    import prover.tracing.dataset as dataset_module

    source = tmp_path / "theories" / "Dev" / "F0.v"
    source.parent.mkdir(parents=True)
    source.write_text("Module M.\nLemma lemma : forall n, n + 0 = n.\nProof. Admitted.\nEnd M.\n")
    state = "1 goal\n  ============================\n  forall n, n + 0 = n"
    dataset = Dataset(tmp_path / "ds")
    row = StepRow(STDLIB_SOURCE, "coq", "Dev/F0.v", "lemma", 3, 1, 0, state, "intros", "", False, "t")
    record = UnitRecord(STDLIB_SOURCE, "Dev/F0.v", "t", None, 1, (ProofRecord("lemma", 2, "traced", 1),),
                        path=str(source))
    dataset.add_unit(record, [row])
    config = RetrievalConfig(corpus=str(dataset.path), premise_weight=0.5, library_premises=2)
    shared = share_index(config, "coq", "retrieval")
    assert shared.library_ref is not None
    dataset.path.rename(tmp_path / "moved")  # a worker that opened the corpus would fail

    @ray.remote
    def worker_premises(factory: SharedIndexPolicy) -> list[str]:
        policy = factory()
        assert isinstance(policy, MixturePolicy)
        return [p.name for p in policy.parts[-1][0].premises]

    assert ray.get(worker_premises.remote(shared)) == ["Coq.Dev.F0.M.lemma"]

    def no_corpus(path: object) -> NoReturn:
        raise AssertionError(f"a worker opened the corpus {path}")

    library_policy.cache_clear()  # as in a fresh worker process
    monkeypatch.setattr(dataset_module, "open_dataset", no_corpus)
    policy = shared()
    assert isinstance(policy, MixturePolicy)
    library = policy.parts[-1][0]
    assert isinstance(library, LibraryPremisePolicy)
    assert [p.name for p in library.premises] == ["Coq.Dev.F0.M.lemma"]
