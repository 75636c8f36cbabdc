"""The LeanDojo backend against real Lean (``lean``-marked: skipped where no Lean is configured).

Besides ``PROVER_LEAN_PROJECT`` these tests need ``PROVER_DOJO_MINIF2F``: a local git clone of
yangky11/miniF2F-lean4 at 2fc983be (Lean v4.20.0, the version lean-dojo 4.20.0 supports), already traced
into LeanDojo's ``CACHE_DIR``. They run offline (``DISABLE_REMOTE_CACHE``, the local clone).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from search import FixedTacticPolicy, SearchConfig, prove
from search.backends.lean.dojo import LeanDojoBackend
from search.backends.lean.dojo_config import LeanDojoConfig
from search.types import DojoLocator, ProofFinished, TacticError, TacticState, Theorem

BENCHMARKS = Path(__file__).resolve().parents[3].parent / "shared" / "benchmarks"
CASES = [("mathd_algebra_182", "ring"), ("mathd_algebra_455", "linarith")]

pytestmark = pytest.mark.lean


def _theorem(name: str) -> Theorem:
    with open(BENCHMARKS / "minif2f_v4.20.0.jsonl", encoding="utf-8") as rows:
        row = next(r for r in map(json.loads, rows) if r["name"] == name)
    locator = DojoLocator(row["repo_url"], row["commit"], row["file_path"], row["full_name"])
    return Theorem(row["name"], row["statement"], header=row["header"], locator=locator)


@pytest.fixture(scope="module")
def backend() -> Iterator[LeanDojoBackend]:
    clone = os.environ.get("PROVER_DOJO_MINIF2F")
    if not clone:
        pytest.skip("set PROVER_DOJO_MINIF2F to a traced clone of miniF2F-lean4 at 2fc983be")
    config = LeanDojoConfig(offline=True, local_repos=(f"https://github.com/yangky11/miniF2F-lean4={clone}",),
                            cache_dir=os.environ.get("CACHE_DIR"), tmp_dir=os.environ.get("TMP_DIR"))
    backend = LeanDojoBackend(config)
    yield backend
    backend.close()


@pytest.mark.parametrize(("name", "tactic"), CASES)
def test_dojo_steps_proves_and_verifies(backend: LeanDojoBackend, name: str, tactic: str) -> None:
    theorem = _theorem(name)
    session = backend.open(theorem)
    try:
        root = session.initial_state()
        assert isinstance(root, TacticState) and "⊢" in root.pp and root.num_goals == 1
        assert isinstance(session.run_tactic(root, "exact no_such_lemma_xyz"), TacticError)
        assert isinstance(session.run_tactic(root, tactic), ProofFinished)
    finally:
        session.close()
    verdict = backend.verify(theorem, [tactic])
    assert verdict.ok, verdict.messages


def test_prove_end_to_end_with_the_fixed_tactic_list(backend: LeanDojoBackend) -> None:
    theorem = _theorem("mathd_algebra_455")
    result = prove(theorem, backend=backend, policy=FixedTacticPolicy(("norm_num", "linarith")),
                   config=SearchConfig(time_limit=900, tactic_timeout=60))
    assert result.proof is not None and result.proof.verdict.ok
