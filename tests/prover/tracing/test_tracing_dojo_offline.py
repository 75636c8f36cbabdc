"""`prover trace --backend dojo` on a traced repository folder, with the network cut off.

The folder is made as LeanDojo leaves one: a git clone with its ``.lean`` files, and
``.lake/build/ir/**/*.trace.xml`` written by LeanDojo's own serializer (``TracedFile.to_xml``) from AST
nodes of LeanDojo's classes; a dependency's trace sits under ``.lake/packages``. No Lean is needed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from lean_dojo.data_extraction import ast as dojo_ast
from lean_dojo.data_extraction.lean import LeanFile, LeanGitRepo, Pos
from lean_dojo.data_extraction.traced_data import TracedFile

from prover.cli.main import main
from prover.tracing.dataset import Dataset

STATE = "n : Nat\n⊢ n + 0 = n"
Tactic = tuple[str, str, str]  # tactic, state before, state after
Theorem = tuple[str, list[Tactic]]  # short name, tactics (none: a term-mode proof)


class NetworkUsed(Exception):
    """Raised by every way out to the network; caught by nothing in the code under test."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise NetworkUsed(f"network use: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # a LeanGitRepo probes the remote cache / GitHub and copies the work tree; get_dependencies calls GitHub
    monkeypatch.setattr(LeanGitRepo, "__post_init__", refuse)
    monkeypatch.setattr(LeanGitRepo, "get_dependencies", refuse)


def _atom(lean_file: LeanFile, val: str, line: int, column: int) -> dojo_ast.AtomNode:
    return dojo_ast.AtomNode(lean_file, Pos(line, column), Pos(line, column + len(val)), [],
                             leading="", trailing=" ", val=val)


def _theorem_node(lean_file: LeanFile, namespace: str, name: str, tactics: list[Tactic],
                  line: int) -> dojo_ast.Node:
    end = Pos(line + max(len(tactics), 1), 40)
    start = Pos(line, 1)
    if tactics:
        steps: list[dojo_ast.Node] = []
        for i, (text, before, after) in enumerate(tactics):
            if i:
                steps.append(dojo_ast.NullNode(lean_file, None, None, []))
            at = line + 1 + i
            steps.append(dojo_ast.OtherNode(lean_file, Pos(at, 3), Pos(at, 3 + len(text)), [],
                                            kind="Lean.Parser.Tactic.tac", state_before=before,
                                            state_after=after, tactic=text))
        sequence = dojo_ast.TacticTacticseqNode(lean_file, Pos(line + 1, 3), end, [
            dojo_ast.TacticTacticseq1IndentedNode(lean_file, Pos(line + 1, 3), end, [
                dojo_ast.NullNode(lean_file, Pos(line + 1, 3), end, steps)])])
        proof: dojo_ast.Node = dojo_ast.TermBytacticNode(lean_file, Pos(line, 30), end, [
            _atom(lean_file, "by", line, 30), sequence])
    else:
        proof = dojo_ast.IdentNode(lean_file, Pos(line, 30), end, [], leading="", trailing="",
                                   raw_val="trivial", val="trivial")
    theorem = dojo_ast.CommandTheoremNode(lean_file, start, end, [
        _atom(lean_file, "theorem", line, 1),
        dojo_ast.CommandDeclidNode(lean_file, Pos(line, 9), Pos(line, 9 + len(name)), [
            dojo_ast.IdentNode(lean_file, Pos(line, 9), Pos(line, 9 + len(name)), [], leading="",
                               trailing=" ", raw_val=name, val=name)]),
        dojo_ast.CommandDeclsigNode(lean_file, None, None, []),
        dojo_ast.CommandDeclvalsimpleNode(lean_file, Pos(line, 27), end, [
            _atom(lean_file, ":=", line, 27), proof])],
        name=name, full_name=f"{namespace}.{name}")
    return dojo_ast.CommandDeclarationNode(lean_file, start, end, [
        dojo_ast.CommandDeclmodifiersNode(lean_file, None, None, []), theorem], name=name,
        full_name=f"{namespace}.{name}")


def write_traced_file(root: Path, unit: str, theorems: list[Theorem], *, xml: Path | None = None,
                      namespace: str = "Lib") -> None:
    """``ROOT/UNIT`` (a .lean file) and its trace, as LeanDojo serialises it."""
    lines: list[str] = []
    starts = []
    for name, tactics in theorems:
        starts.append(len(lines) + 1)
        lines.append(f"theorem {name} : True := {'by' if tactics else 'trivial'}")
        lines.extend(f"  {text}" for text, _, _ in tactics)
        lines.append("")
    lean = root / unit
    lean.parent.mkdir(parents=True, exist_ok=True)
    lean.write_text("\n".join(lines) + "\n")
    lean_file = LeanFile(root, Path(unit))
    nodes = [_theorem_node(lean_file, namespace, name, tactics, line)
             for (name, tactics), line in zip(theorems, starts, strict=True)]
    file_node = dojo_ast.FileNode(lean_file, lean_file.start_pos, lean_file.end_pos,
                                  [dojo_ast.ModuleHeaderNode(lean_file, None, None, []), *nodes])
    xml = xml or root / ".lake/build/ir" / Path(unit).with_suffix(".trace.xml")
    xml.parent.mkdir(parents=True, exist_ok=True)
    xml.write_text(TracedFile(root, None, lean_file, file_node, []).to_xml())  # type: ignore[arg-type]


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main",
               "-C", str(root), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


ORIGIN = "https://user:ghp_secret@github.com/x/lib.git"  # a clone made with a token in its URL


def make_traced_repo(root: Path, *, origin: str | None = ORIGIN) -> str:
    """A traced repository: two files of its own, one of a dependency. Returns its HEAD commit."""
    root.mkdir(parents=True)
    write_traced_file(root, "Lib/Basic.lean", [
        ("add_zero'", [("intro n", "⊢ ∀ (n : Nat), n + 0 = n", STATE), ("simp", STATE, "no goals")]),
        ("given_up", [("intro n", "⊢ ∀ (n : Nat), n + 0 = n", STATE), ("admit", STATE, "no goals")]),
        ("by_term", []),
    ])
    write_traced_file(root, "Lib/Small.lean", [("t", [("omega", STATE, "no goals")])])
    package = root / ".lake/packages/mathlib"  # where LeanDojo puts a dependency's source and trace
    write_traced_file(root, ".lake/packages/mathlib/Mathlib/Dep.lean",
                      [("dep", [("rfl", STATE, "no goals")])],
                      xml=package / ".lake/build/ir/Mathlib/Dep.trace.xml", namespace="Mathlib")
    (root / ".gitignore").write_text(".lake/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "traced")
    if origin is not None:
        git(root, "remote", "add", "origin", origin)
    return git(root, "rev-parse", "HEAD")


def trace(folder: Path, out: Path, *extra: str) -> int:
    return main(["trace", "--backend", "dojo", str(folder), "--out", str(out), "--json", *extra])


def test_a_traced_folder_is_converted_offline_under_its_url_at_commit(
        tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    commit = make_traced_repo(tmp_path / "work" / "lib")
    assert trace(tmp_path / "work" / "lib", tmp_path / "ds") == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["this_run"]["files_traced"] == 2
    assert summary["proofs"] == {"traced": 2, "admitted": 1, "no-tactics": 1}
    table = Dataset(tmp_path / "ds").read()
    assert set(table.column("source").to_pylist()) == {f"https://github.com/x/lib@{commit}"}
    assert sorted(set(table.column("file").to_pylist())) == ["Lib/Basic.lean", "Lib/Small.lean"]
    assert set(table.column("theorem").to_pylist()) == {"Lib.add_zero'", "Lib.t"}  # not Mathlib.dep
    assert "admit" not in table.column("tactic").to_pylist()
    for column in ("source", "file"):
        values = table.column(column).to_pylist()
        assert not any(str(tmp_path) in value or "secret" in value for value in values)
    records = {r.unit: r for r in Dataset(tmp_path / "ds").records()}
    assert {p.theorem: p.status for p in records["Lib/Basic.lean"].proofs}["Lib.given_up"] == "admitted"


def test_the_same_trace_from_another_folder_is_not_appended_again(
        tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    make_traced_repo(tmp_path / "one" / "lib")
    shutil.copytree(tmp_path / "one" / "lib", tmp_path / "two" / "lib-copy", symlinks=True)
    assert trace(tmp_path / "one" / "lib", tmp_path / "ds") == 0
    capsys.readouterr()
    assert trace(tmp_path / "two" / "lib-copy", tmp_path / "ds") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["this_run"]["files_already_traced"] == 2 and again["this_run"]["rows"] == 0
    assert again["rows"] == 3


def test_limit_is_honoured(tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    make_traced_repo(tmp_path / "lib")
    assert trace(tmp_path / "lib", tmp_path / "ds", "--limit", "1") == 0
    assert json.loads(capsys.readouterr().out)["this_run"]["files_traced"] == 1
    assert [r.unit for r in Dataset(tmp_path / "ds").records()] == ["Lib/Basic.lean"]  # the larger


def test_a_folder_without_an_origin_url_needs_source(
        tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    make_traced_repo(tmp_path / "lib", origin=None)
    assert trace(tmp_path / "lib", tmp_path / "ds") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no git origin remote" in err and "--source" in err and "Traceback" not in err
    assert not (tmp_path / "ds").exists()  # refused before anything was written
    assert trace(tmp_path / "lib", tmp_path / "ds", "--source", "lib-local") == 0
    assert set(Dataset(tmp_path / "ds").read().column("source").to_pylist()) == {"lib-local"}


def test_a_stale_trace_stops_its_file_early_and_names_it(
        tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]) -> None:
    make_traced_repo(tmp_path / "lib")
    with (tmp_path / "lib" / "Lib" / "Small.lean").open("a") as edited:  # changed after it was traced
        edited.write("-- edited\n")
    assert trace(tmp_path / "lib", tmp_path / "ds") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["this_run"]["files_traced"] == 1 and summary["this_run"]["files_stopped_early"] == 1
    (stopped,) = summary["stopped_early"]
    assert stopped["unit"] == "Lib/Small.lean"
    assert "Small.trace.xml: cannot read the trace" in stopped["error"]


def test_a_github_failure_while_loading_is_the_backend_unavailable(
        tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from github import RateLimitExceededException

    def rate_limited(*args: object, **kwargs: object) -> None:
        raise RateLimitExceededException(403, {"message": "API rate limit exceeded"}, None)

    make_traced_repo(tmp_path / "lib")
    monkeypatch.setattr(TracedFile, "from_xml", rate_limited)
    assert trace(tmp_path / "lib", tmp_path / "ds") == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "backend 'dojo' is unavailable" in err and "rate limit" in err and "Traceback" not in err
    assert "not a LeanDojo-traced repository" not in err
