"""The allowed Coq axioms: exactly what the installed libraries declare, minus the documented exclusions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, compile_and_check
from search.backends.coq.axioms import EXCLUDED_LIBRARY_AXIOMS, LIBRARY_AXIOMS
from search.types import Theorem


def test_the_list_is_explicit_and_excludes_what_states_false() -> None:
    assert len(set(LIBRARY_AXIOMS)) == len(LIBRARY_AXIOMS) > 100
    assert "Coq.Compat.AdmitAxiom.proof_admitted" in EXCLUDED_LIBRARY_AXIOMS
    assert not set(EXCLUDED_LIBRARY_AXIOMS) & set(LIBRARY_AXIOMS)
    for needed in ("Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
                   "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
                   "Coq.Logic.Classical_Prop.classic"):
        assert needed in LIBRARY_AXIOMS
    assert CoqBackendConfig().allowed_axioms == LIBRARY_AXIOMS


def test_a_library_axiom_that_states_false_is_still_rejected() -> None:
    theorem = Theorem("f", "Theorem f : False.", "Require Import Coq.Compat.AdmitAxiom.")
    refused = CoqBackend().verify(theorem, ["exact proof_admitted"])
    assert not refused.ok and "theorem refused" in refused.messages[0]  # the header check stops it first
    text = ("Require Import Coq.Compat.AdmitAxiom.\nTheorem f : False.\nProof.\n  exact proof_admitted.\n"
            "Qed.\n")
    verdict = compile_and_check(text, "f", CoqBackendConfig())  # and the audit would, on its own
    assert not verdict.ok
    assert verdict.axioms == ("Coq.Compat.AdmitAxiom.proof_admitted",)
    assert "not allowed" in verdict.messages[0]


def test_a_coquelicot_proof_uses_only_allowed_axioms() -> None:
    theorem = Theorem("c", "Theorem c : forall x : R, Rabs (x - x) = 0.",
                      "Require Import Reals.\nRequire Import Coquelicot.Coquelicot.\nOpen Scope R_scope.")
    verdict = CoqBackend().verify(theorem, ["intros x", "rewrite Rminus_eq_0", "apply Rabs_R0"])
    assert verdict.ok, verdict.messages
    assert set(verdict.axioms) <= set(LIBRARY_AXIOMS)


@pytest.mark.slow
def test_the_list_is_what_coqchk_finds_in_the_installed_libraries(tmp_path: Path) -> None:
    """Repeat the survey of ``axioms.py``: require every installed module, ``coqchk -o`` the result."""
    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip()
    modules = []
    for root, prefix in ((Path(where, "theories"), "Coq"), (Path(where, "user-contrib"), "")):
        for vo in sorted(root.rglob("*.vo")):
            parts = vo.relative_to(root).with_suffix("").parts
            modules.append(".".join(([prefix] if prefix else []) + list(parts)))
    assert len(modules) > 600
    (tmp_path / "AllLibs.v").write_text("".join(f"Require {m}.\n" for m in modules))
    subprocess.run(["coqc", "-q", "-Q", ".", "Survey", "AllLibs.v"], cwd=tmp_path, check=True, timeout=600)
    checked = subprocess.run(["coqchk", "-o", "-silent", "-Q", ".", "Survey", "-norec", "Survey.AllLibs"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=600, check=True).stdout
    end = checked.index("* Constants/Inductives relying on type-in-type")
    summary = checked[checked.index("* Axioms:"):end]
    found = {line.strip() for line in summary.splitlines()[1:] if line.strip()}
    assert found - set(EXCLUDED_LIBRARY_AXIOMS) == set(LIBRARY_AXIOMS)
    assert "relying on type-in-type: <none>" in checked and "positivity is assumed: <none>" in checked
