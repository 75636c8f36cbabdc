"""LeanDojo traces become the same rows as Coq traces: lean_dojo's own TracedTactic and Pos, with minimal
stand-ins for the file/theorem/repository objects (building those needs a Lean toolchain)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from lean_dojo.data_extraction.lean import Pos
from lean_dojo.data_extraction.traced_data import TracedTactic

from prover.cli.main import main
from prover.tracing.dataset import Dataset
from prover.tracing.dojo import DojoRepo, DojoUnit, dojo_unit, giving_up_word, public_url, trace_dojo
from prover.tracing.runner import RunCounts

ROOT = Path(__file__).resolve().parents[3]
STATE = "n : ℕ\n⊢ n + 0 = n"


def tactic(text: str, before: str, after: str, line: int, column: int) -> TracedTactic:
    node = SimpleNamespace(tactic=text, state_before=before, state_after=after, start=Pos(line, column),
                           end=Pos(line, column + len(text)))
    return TracedTactic(node)


def theorem(name: str, line: int, tactics: list[TracedTactic]) -> SimpleNamespace:
    return SimpleNamespace(theorem=SimpleNamespace(full_name=name), start=Pos(line, 1),
                           get_traced_tactics=lambda: tactics)


def traced_file(path: str, theorems: list[SimpleNamespace]) -> SimpleNamespace:
    return SimpleNamespace(path=Path(path), get_traced_theorems=lambda: theorems)


def traced_files() -> list[SimpleNamespace]:
    return [
        traced_file("Lib/Basic.lean", [
            theorem("Lib.add_zero'", 3, [
                tactic("induction n with\n  | zero => rfl\n  | succ k ih => simp", STATE,
                       "case succ\nk : ℕ\nih : k + 0 = k\n⊢ k + 1 + 0 = k + 1", 4, 3),
                tactic("simp", "case succ\nk : ℕ\nih : k + 0 = k\n⊢ k + 1 + 0 = k + 1", "no goals", 6, 20),
            ]),
            theorem("Lib.by_term", 9, []),
            theorem("Lib.unfinished", 12, [tactic("sorry", STATE, "no goals", 13, 3)]),
            theorem("Lib.admitted", 15, [tactic("admit", STATE, "no goals", 16, 3)]),
        ]),
        traced_file("Lib/Other.lean", [theorem("Lib.t", 1, [tactic("omega", STATE, "no goals", 2, 3)])]),
    ]


def repo(tmp_path: Path, files: list[SimpleNamespace]) -> tuple[DojoRepo, Callable[..., SimpleNamespace]]:
    """A repository of stand-in traced files, and the loader that hands them out."""
    by_unit = {f.path.as_posix(): f for f in files}
    units = tuple(DojoUnit(unit, tmp_path / f"{unit}.trace.xml", 100 * n) for n, unit in enumerate(by_unit))
    return (DojoRepo(tmp_path, "https://github.com/x/lib@abc123", units),
            lambda _repo, unit: by_unit[unit.unit])


def test_a_traced_file_becomes_rows_and_proof_records() -> None:
    record, rows = dojo_unit(traced_files()[0], source="lib", trace="dojo-1")
    assert record.unit == "Lib/Basic.lean" and record.rows == 2
    assert [(p.theorem, p.status, p.steps) for p in record.proofs] == [
        ("Lib.add_zero'", "traced", 2), ("Lib.by_term", "no-tactics", 0), ("Lib.unfinished", "admitted", 0),
        ("Lib.admitted", "admitted", 0)]
    assert "`admit`" in record.proofs[3].detail
    first, second = rows
    assert (first.assistant, first.file, first.theorem, first.step) == ("lean", "Lib/Basic.lean",
                                                                        "Lib.add_zero'", 0)
    assert (first.line, first.column) == (4, 3) and first.state_before == STATE
    assert first.tactic.startswith("induction n with\n") and not first.closed
    assert first.state_after.startswith("case succ")
    assert second.step == 1 and second.closed and second.state_after == ""
    assert "admit" not in [row.tactic for row in rows]  # no goal is recorded as closed by giving up


@pytest.mark.parametrize("text, word", [
    ("admit", "admit"), ("sorry", "sorry"), ("stop\n  simp", "stop"), ("exact (by sorry)", "sorry"),
    ("· admit", "admit"), ("apply?", "apply?"), ("exact _root_.sorryAx _ false", "_root_.sorryAx"),
    ("simp [h_sorry, admit_lemma]", None), ("rfl -- sorry, admit later", None),
    ('trace "sorry"', None), ("omega", None)])
def test_the_words_that_give_up_are_the_lean_filters(text: str, word: str | None) -> None:
    assert giving_up_word(text) == word


def test_a_traced_repository_is_appended_once_per_file(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path / "ds")
    traced, load = repo(tmp_path, traced_files())
    summary = trace_dojo(traced, dataset, trace="dojo-1", load=load)
    assert summary.files == 2 and summary.rows == 3
    assert summary.proofs == {"traced": 2, "no-tactics": 1, "admitted": 2}
    table = dataset.read()
    assert set(table.column("source").to_pylist()) == {"https://github.com/x/lib@abc123"}
    assert table.column("tactic").to_pylist() == [
        "induction n with\n  | zero => rfl\n  | succ k ih => simp", "simp", "omega"]
    assert summary.run == RunCounts(files=2, traced=2, proofs_traced=2, rows=3)
    again = trace_dojo(traced, dataset, trace="dojo-2", load=load)
    assert again.rows == 3  # resumed: nothing appended twice
    assert again.run == RunCounts(files=2, skipped=2)  # and this run says it converted nothing


def test_limit_takes_the_largest_files_and_a_rerun_with_it_converts_no_more(tmp_path: Path) -> None:
    dataset = Dataset(tmp_path / "ds")
    traced, load = repo(tmp_path, traced_files())  # Lib/Other.lean is the larger
    first = trace_dojo(traced, dataset, trace="dojo-1", load=load, limit=1)
    assert first.run == RunCounts(files=1, traced=1, proofs_traced=1, rows=1)
    assert [r.unit for r in dataset.records()] == ["Lib/Other.lean"]
    again = trace_dojo(traced, dataset, trace="dojo-1", load=load, limit=1)
    assert again.run == RunCounts(files=1, skipped=1)
    assert trace_dojo(traced, dataset, trace="dojo-1", load=load).run.traced == 1  # the other one


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/x/lib", "https://github.com/x/lib"),
    ("https://user:ghp_secret@github.com/x/lib.git", "https://github.com/x/lib"),
    ("git@github.com:x/lib.git", "https://github.com/x/lib"),
    ("ssh://git@github.com:22/x/lib.git/", "https://github.com/x/lib"),
    ("https://gitlab.example.org:8443/g/lib", "https://gitlab.example.org:8443/g/lib"),
    ("/home/me/lib", None), ("file:///home/me/lib", None), ("../lib", None)])
def test_the_origin_remote_becomes_a_public_url(remote: str, url: str | None) -> None:
    assert public_url(remote) == url


def test_prover_trace_dojo_refuses_a_folder_that_is_no_traced_repository(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--backend", "dojo", str(tmp_path), "--out", str(tmp_path / "ds")]) == 2
    assert "not a LeanDojo-traced repository" in " ".join(capsys.readouterr().err.split())
    assert main(["trace", "--backend", "dojo", "--out", str(tmp_path / "ds")]) == 2


def test_prover_trace_dojo_without_git_says_the_backend_is_unavailable(tmp_path: Path) -> None:
    """lean_dojo runs ``git --version`` at import: without git that is exit 3 naming git, no traceback
    (a fresh process, since this one has imported lean_dojo already)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"PATH": str(empty), "HOME": str(tmp_path), "TMP_DIR": str(tmp_path / "tmp"),
           "CACHE_DIR": str(tmp_path / "cache")}  # no git on PATH, no GITHUB_ACCESS_TOKEN
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    command = [sys.executable, "-m", "prover.cli.main", "trace", "--backend", "dojo", str(repo_dir),
               "--out", str(tmp_path / "ds")]
    run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    err = " ".join(run.stderr.split())
    assert run.returncode == 3, err[-2000:]
    assert "backend 'dojo' is unavailable" in err and "install git" in err and "Traceback" not in err


@pytest.mark.lean
def test_a_real_leandojo_trace_becomes_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Traces LeanDojo's own example repository with Lean (PROVER_LEAN_PROJECT set) and converts the
    traced folder as `prover trace --backend dojo` does: offline, named by its origin URL@commit."""
    from lean_dojo import LeanGitRepo, trace

    url = os.environ.get("PROVER_DOJO_REPO", "https://github.com/yangky11/lean4-example")
    commit = os.environ.get("PROVER_DOJO_COMMIT", "7761283ffeb3a3d9d5d5ec0b4a1f3a1e45e4b4a6")
    lean_repo = LeanGitRepo(url, commit)
    trace(lean_repo, dst_dir=tmp_path / "traced")
    (folder,) = (tmp_path / "traced").iterdir()
    assert main(["trace", "--backend", "dojo", str(folder), "--out", str(tmp_path / "ds"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] > 0 and summary["proofs"].get("traced", 0) > 0
    table = Dataset(tmp_path / "ds").read()
    assert set(table.column("source").to_pylist()) == {f"{lean_repo.url}@{lean_repo.commit}"}
    assert all(s == "" or "⊢" in s for s in table.column("state_after").to_pylist())
    assert all("⊢" in s for s in table.column("state_before").to_pylist())
