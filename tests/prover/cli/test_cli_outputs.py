"""What a user gets back when the files a command writes, or the files it reads, are not what it expects:
a finished proof is never lost to an output path, reports are readable by others, and empty or mistaken
inputs say what they hold (the fourth first-hour audit)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from prover.atomic_files import write_text_atomic
from prover.cli import main as cli_main
from prover.cli import prove_command
from prover.cli.main import main

TRIVIAL = "Theorem t : forall n : nat, n + 0 = n."


def test_a_page_that_cannot_be_written_costs_no_proof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prove_command, "write_html", full_disk)
    graph = tmp_path / "graph.json"
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--json", "--quiet", "--graph-out",
                 str(graph), "--html", str(tmp_path / "page.html"), TRIVIAL])
    captured = capsys.readouterr()
    assert json.loads(captured.out)["proved"]  # the proof is out before any file is written
    assert code == 2 and "--html" in captured.err and "No space left on device" in captured.err
    assert "Traceback" not in captured.err
    assert json.loads(graph.read_text())["nodes"]  # the other output was still written


def test_an_output_file_in_a_folder_that_cannot_be_written_is_refused_before_the_search(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # a folder this user may not write to (root may write anywhere, so the permission is simulated)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    with pytest.raises(SystemExit) as exited:
        main(["prove", "--backend", "coq", "--html", str(locked / "p.html"), TRIVIAL])
    assert exited.value.code == 2 and "the folder" in capsys.readouterr().err


def test_files_written_atomically_keep_the_umask_s_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.md", "# report\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644  # readable by the team
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary left


def test_inputs_that_hold_nothing_or_something_else_say_so(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bar.v").write_text("Require Import Arith.\nTheorem foo : True.\nProof. Admitted.\n")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "broken.jsonl").write_text('{"name": "a", "statement": "Theorem a : True."}\n{broken\n')
    assert main(["prove", "--backend", "coq", "--file", str(tmp_path / "bar.v")]) == 2
    assert "it holds 'foo': give --name" in capsys.readouterr().err
    (tmp_path / "foo.v").write_text("Lemma helper : True.\nProof. Admitted.\nTheorem foo : 1 = 1.\n")
    assert main(["prove", "--backend", "coq", "--file", str(tmp_path / "foo.v")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'foo.v'}: 'foo' comes after 'helper' (line 1)" in " ".join(err.split())
    assert main(["prove", "--backend", "coq", "--file", str(tmp_path / "empty.jsonl"), "--name", "t"]) == 2
    assert "the file holds no rows" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["benchmarks", str(tmp_path / "nothing")]) == 2
    assert "no benchmark in this folder" in capsys.readouterr().err
    assert main(["benchmarks", str(tmp_path / "broken.jsonl")]) == 2
    assert "broken.jsonl:2: not valid JSON" in capsys.readouterr().err


def test_a_full_disk_is_an_error_with_the_resume_hint_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def full(*_: object) -> int:
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "sweep.json"))

    def full_too(*_: object) -> int:
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "report.md"))

    monkeypatch.setattr(cli_main, "run_sweep_command", full)
    monkeypatch.setattr(cli_main, "run_report_command", full_too)
    assert main(["sweep", "coq_basic", "--backend", "coq", "--out", str(tmp_path / "out")]) == 3
    assert "No space left on device; nothing was written yet" in capsys.readouterr().err  # no folder yet
    (tmp_path / "out").mkdir()
    assert main(["sweep", "coq_basic", "--backend", "coq", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "sweep.json: No space left on device" in err and "the same command resumes it" in err
    assert "Traceback" not in err
    assert main(["report", str(tmp_path / "out")]) == 3
    assert "resumes" not in capsys.readouterr().err  # a report is written again, not resumed


def test_any_error_raised_on_purpose_is_a_message_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.sweep.errors import ErroredAttemptsError

    def unfinished(*_: object) -> int:
        raise ErroredAttemptsError(str(tmp_path / "out" / "round-01" / "sweep"), 2)

    monkeypatch.setattr(cli_main, "run_sweep_command", unfinished)
    assert main(["sweep", "coq_basic", "--backend", "coq", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "left 2 theorem(s) whose last attempt ended in an error" in err and "Traceback" not in err


def test_json_output_is_one_object_on_failure_too(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code = main(["prove", "--json", "--backend", "coq", "--coq-coqtop", "/nonexistent/coqtop",
                 "Theorem t : True."])
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert code == 3 and answer["exit_status"] == 3 and "coqtop not found" in answer["error"]
    assert "error:" in captured.err  # the terminal still gets the message
