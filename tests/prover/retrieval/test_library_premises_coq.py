"""Library premises with real Coq: the names a traced development's lemmas get resolve once a header
loads their file (a lemma inside a ``Module`` included, where its short traced name does not), and a
header that does not load the file is offered none of them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from prover.retrieval.library_premises import LibraryPremisePolicy, header_libraries, library_premises
from prover.retrieval.premises import PremisePolicy
from prover.tracing.coq_files import find_jobs
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig
from prover.tracing.dataset import Dataset
from search.backends.coq import CoqBackendConfig
from search.backends.coq.verify import run_coqc
from search.types import Theorem

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

NATS = """Module Nat2.
Lemma double_0 : 0 + 0 = 0.
Proof. reflexivity. Qed.
End Nat2.
Section S.
Variable n : nat.
Lemma sec_refl : n + 0 = n.
Proof. induction n; simpl; auto. Qed.
End S.
Module Type T.
Parameter x : nat.
End T.
Module F (X : T).
Lemma hidden : X.x = X.x.
Proof. reflexivity. Qed.
End F.
Lemma top_lemma : True.
Proof. exact I. Qed.
"""


def development(tmp_path: Path) -> tuple[Path, Path]:
    """``MyDev.Nats`` (``-R theories MyDev``), traced into a dataset and compiled."""
    project = tmp_path / "dev"
    (project / "theories").mkdir(parents=True)
    (project / "_CoqProject").write_text("-R theories MyDev\n")
    (project / "theories" / "Nats.v").write_text(NATS)
    [job] = find_jobs([project / "theories"], trace="t", source="mydev")
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert {p.theorem for p in record.proofs if p.status == "traced"} == {"double_0", "sec_refl", "hidden",
                                                                          "top_lemma"}
    dataset = Dataset(tmp_path / "ds")
    dataset.add_unit(record, rows)
    subprocess.run(["coqc", "-q", "-R", "theories", "MyDev", "theories/Nats.v"], cwd=project, check=True,
                   capture_output=True)
    return dataset.path, project


def test_a_module_s_lemma_resolves_by_the_name_it_is_offered_under(tmp_path: Path) -> None:
    corpus, project = development(tmp_path)
    library = library_premises(str(corpus), None)
    names = {p.name for p in library.premises(library.lemmas)}
    assert names == {"MyDev.Nats.Nat2.double_0", "MyDev.Nats.sec_refl", "MyDev.Nats.top_lemma"}  # no functor

    config = CoqBackendConfig(coq_args=("-R", str(project / "theories"), "MyDev"))
    header = "Require Import MyDev.Nats."
    policy = LibraryPremisePolicy(library, top=8, loaded=lambda h: header_libraries(h, config))
    offered = policy.for_theorem(Theorem("t", "Theorem t : 0 + 0 = 0.", header))
    assert isinstance(offered, PremisePolicy) and {p.name for p in offered.premises} == names
    for name in sorted(names):
        code, output = run_coqc(f"{header}\nCheck @{name}.\n", config)
        assert code == 0, output
    code, _ = run_coqc(f"{header}\nCheck @double_0.\n", config)
    assert code != 0  # the short traced name: what the library premises offered before
    code, output = run_coqc(f"{header}\nGoal 0 + 0 = 0.\nauto using {', '.join(sorted(names))}.\nQed.\n",
                            config)
    assert code == 0, output

    not_loaded = policy.for_theorem(Theorem("t", "Theorem t : 0 + 0 = 0.", "Require Import Arith."))
    assert isinstance(not_loaded, PremisePolicy) and not not_loaded.premises
