"""Bad input through the real command line: each is exit 2 with one message naming the file or line, never
a traceback. Non-UTF-8 and binary benchmark files (prove and sweep), a non-UTF-8 tactic list and header
file, a statement of several megabytes, and --out naming a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prover.cli.main import main

BAD_BYTES = "not UTF-8 text (byte 0xff at column 3); is it a binary file? Save it as UTF-8"
BIG = "Theorem big : " + " /\\ ".join(["1 = 1"] * 560_000) + "."  # 5 MB


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "10000")  # one error, one line: compare messages exactly


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and the last line of stderr (the error; lines before it say what the run would use)."""
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err.strip().splitlines()[-1]


@pytest.fixture
def latin1_bench(tmp_path: Path) -> Path:
    path = tmp_path / "bench.jsonl"
    good = json.dumps({"name": "t", "split": "test", "statement": "Theorem t : True."})
    path.write_bytes(good.encode() + b'\n{"\xff": 1}\n')
    return path


def test_prove_from_a_non_utf8_benchmark(latin1_bench: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["prove", "--backend", "coq", "--policy", "tactics", "--file", str(latin1_bench),
                     "--name", "t"], capsys)
    assert (code, err) == (2, f"error: {latin1_bench}:2: {BAD_BYTES}")


def test_sweep_of_a_non_utf8_benchmark(latin1_bench: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["sweep", str(latin1_bench), "--backend", "coq", "--policy", "tactics",
                     "--out", str(tmp_path / "out")], capsys)
    assert (code, err) == (2, f"error: {latin1_bench}:2: {BAD_BYTES}")


def test_a_binary_benchmark_in_a_separate_process(tmp_path: Path) -> None:
    path = tmp_path / "random.jsonl"
    path.write_bytes(b"\x00\x01PK\x03\x04" + bytes(range(256)) * 8)  # line 2 starts after byte 10
    env = dict(os.environ, COLUMNS="10000")
    for argv in (["prove", "--backend", "coq", "--policy", "tactics", "--file", str(path), "--name", "t"],
                 ["sweep", str(path), "--backend", "coq", "--policy", "tactics", "--out",
                  str(tmp_path / "out")]):
        done = subprocess.run([sys.executable, "-m", "prover.cli.main", *argv], capture_output=True,
                              text=True,
                              env=env, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1] == (
            f"error: {path}:2: not UTF-8 text (byte 0x80 at column 118); is it a binary file? "
            "Save it as UTF-8")


def test_a_valid_utf8_file_that_is_not_json_names_its_line(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.jsonl"
    path.write_text('{"name": "t", "statement": "Theorem t : True."}\n\x00\x01\x02\n')
    code, err = run(["prove", "--backend", "coq", "--policy", "tactics", "--file", str(path), "--name", "x"],
                    capsys)
    assert code == 2 and err.startswith(f"error: {path}:2: not valid JSON")


@pytest.mark.parametrize("option", ["--tactics-file", "--header-file"])
def test_a_non_utf8_tactics_or_header_file(option: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"intros.\nau\xffto.\n")
    code, err = run(["prove", "--backend", "coq", "--policy", "tactics", option, str(path),
                     "Theorem t : True."], capsys)
    assert (code, err) == (2, f"error: {path}:2: {BAD_BYTES}")


def test_a_five_megabyte_statement(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["prove", "--backend", "coq", "--policy", "tactics", BIG], capsys)
    assert (code, err) == (2, f"error: theorem 'big': the statement is {len(BIG)} bytes long; coqtop takes "
                              "at most 16383 bytes a sentence")


def test_a_five_megabyte_statement_in_a_benchmark_file(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"name": "big", "statement": BIG}) + "\n")
    code, err = run(["prove", "--backend", "coq", "--policy", "tactics", "--file", str(path),
                     "--name", "big"], capsys)
    assert code == 2 and f"the statement is {len(BIG)} bytes long" in err


@pytest.mark.parametrize("under", [False, True])
def test_out_naming_an_existing_file(under: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    out = existing / "sub" if under else existing
    code, err = run(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", "--limit", "1",
                     "--out", str(out)], capsys)
    expected = (f"error: {out}: cannot create the results folder (Not a directory)" if under else
                f"error: {out} exists and is not a folder: --out names the folder of a sweep's results; "
                "give a new or existing folder")
    assert (code, err) == (2, expected)
    assert existing.read_text() == "keep me"


def bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    """The second audit's list (issue 11): each argv and the end of its one error line."""
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty.txt").write_text("# only a comment\n\n")
    (tmp_path / "typed.jsonl").write_text(json.dumps({"name": 5, "statement": "Theorem a : True."}) + "\n")
    (tmp_path / "h.v").write_text("Definition y := 2.\n")
    (tmp_path / "a.v").write_text("Theorem a : True.\n")
    (tmp_path / "a.lean").write_text("theorem a : True := by\n  trivial\n")
    (tmp_path / "tabs.txt").write_text("lia\n  # an indented comment\n")
    prove = ["prove", "--backend", "coq", "--policy", "tactics"]
    true = "Theorem a : True."
    return [
        ([*prove, "--header", "Definition x := 1.", "--header-file", str(tmp_path / "h.v"), true],
         "give --header or --header-file, not both"),
        ([*prove, "--file", str(tmp_path / "a.v"), "--header", "Definition x := 1."],
         "a .v or .lean file the text before the theorem)"),
        ([*prove, "--file", str(tmp_path / "a.lean"), "--name", "a"],
         "a .lean file holds a Lean theorem; use --backend repl or --backend dojo"),
        ([*prove, "--html", str(tmp_path / "a_folder"), true], "is a folder: give a file name"),
        ([*prove, "--graph-out", str(tmp_path / "a_file" / "g.json"), true], "is a file, not a folder"),
        (["trace", str(tmp_path), "--out", str(tmp_path / "a_file")], "is a file: give a folder"),
        ([*prove, "--time-limit", "inf", true],
         "search.time_limit (--time-limit) must be a finite number, got inf"),
        ([*prove, "--tactic-timeout", "1e400", true],
         "search.tactic_timeout (--tactic-timeout) must be a finite number, got inf"),
        ([*prove, "--coq-memory-limit-mb", "99999999999999", true],
         "must be in [768, 1073741824], got 99999999999999"),
        ([*prove, "--coq-memory-limit-mb", "300", true], "must be in [768, 1073741824], got 300"),
        ([*prove, "--coq-verify-timeout", "inf", true],
         "coq.verify_timeout (--coq-verify-timeout) must be a finite number, got inf"),
        ([*prove, "--coq-start-timeout", "1e308", true],
         "coq.start_timeout (--coq-start-timeout) must be in (0, 1000000.0], got 1e+308"),
        ([*prove, "--alpha", "1000", true], "search.alpha (--alpha) must be in [0, 10], got 1000.0"),
        ([*prove, "--coq-workdir", str(tmp_path / "nowhere"), true],
         f"coq.workdir (--coq-workdir): must be an existing folder, got '{tmp_path / 'nowhere'}'"),
        ([*prove, "--coq-printing-depth", "99999999999999999999", true],
         "coq.printing_depth (--coq-printing-depth) must be in [50, 1000000], got 99999999999999999999"),
        (["sweep", "coq_basic", "--backend", "coq", "--attempts", "99999999999999",
          "--out", str(tmp_path / "s")],
         "sweep.attempts (--attempts) must be in [1, 1000], got 99999999999999"),
        ([*prove, "--tactics-file", str(tmp_path / "empty.txt"), true],
         "no tactics in the file (one per line; # starts a comment)"),
        ([*prove, "--tactics", ",,", true], "no tactics (give them separated by commas)"),
        (["sweep", str(tmp_path / "typed.jsonl"), "--backend", "coq", "--out", str(tmp_path / "s2")],
         "the row's name and statement must be text, but its name is int"),
    ]


def test_the_second_audit_s_bad_inputs_are_each_one_clear_error(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in bad_inputs(tmp_path):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors (a bad --html) exit 2 through SystemExit
            code = exc.code
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out, argv
        assert code == 2 and captured.err.strip().endswith(message), (argv, code, captured.err[-400:])


@pytest.mark.parametrize("options", [["--header-file", "{d}", "Theorem t : True."],
                                     ["--file", "{d}", "--name", "x"], ["--file", "{d}"],
                                     ["--tactics-file", "{d}", "Theorem t : True."]])
def test_a_folder_given_for_a_file_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   options: list[str]) -> None:
    argv = ["prove", "--backend", "coq", *(o.format(d=tmp_path) for o in options)]
    assert main(argv) == 2
    assert f"{options[0]} {tmp_path}: is a folder, not a file" in capsys.readouterr().err


def test_a_coq_file_without_the_coq_backend_says_so(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.v"
    path.write_text("Theorem t : True.\nProof. Admitted.\n")
    assert main(["prove", "--file", str(path)]) == 2
    assert "a .v file holds a Coq theorem; add --backend coq" in capsys.readouterr().err


def test_a_sweep_never_writes_into_a_folder_of_other_files(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["sweep", "coq_basic", "--backend", "coq", "--limit", "1", "--out", str(tmp_path)]) == 2
    assert "holds other files (notes.txt) and no sweep" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_retrieval_corpus_without_steps_is_refused_before_the_sweep_folder_is_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.tracing.dataset import Dataset

    Dataset(tmp_path / "ds")
    out = tmp_path / "out"
    assert main(["sweep", "coq_basic", "--backend", "coq", "--limit", "1", "--policy", "retrieval",
                 "--retrieval-corpus", str(tmp_path / "ds"), "--out", str(out)]) == 2
    assert "no traced steps to index" in capsys.readouterr().err
    assert not out.exists()  # a corrected rerun into the same --out is not refused as another run


def test_a_retrieval_corpus_of_pair_files_alone_passes_the_preflight(tmp_path: Path) -> None:
    from prover.retrieval.policy import RetrievalConfig, check_corpus_usable
    from prover.theorem_input import InputError
    from prover.tracing.dataset import Dataset

    Dataset(tmp_path / "ds")
    pairs = tmp_path / "pairs.jsonl"
    pair = {"state": "1 goal\n  ============================\n  True", "tactic": "exact I"}
    pairs.write_text(json.dumps(pair) + "\n")
    check_corpus_usable(RetrievalConfig(corpus=str(tmp_path / "ds"), extra=(str(pairs),)))
    with pytest.raises(InputError, match="no traced steps"):
        check_corpus_usable(RetrievalConfig(corpus=str(tmp_path / "ds")))


def test_a_damaged_corpus_shard_is_refused_before_the_sweep_folder_is_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
    from prover.tracing.schema import StepRow

    dataset = Dataset(tmp_path / "ds")
    row = StepRow("dev", "coq", "A.v", "t", 1, 1, 0, "1 goal\n  ============================\n  True",
                  "exact I", "", True, "t")
    record = dataset.add_unit(UnitRecord("dev", "A.v", "t", None, 1, (ProofRecord("t", 1, "traced", 1),)),
                              [row])
    (dataset.shards / record.shard).write_bytes(b"not parquet")
    out = tmp_path / "out"
    assert main(["sweep", "coq_basic", "--backend", "coq", "--limit", "1", "--policy", "retrieval",
                 "--retrieval-corpus", str(dataset.path), "--out", str(out)]) == 2
    assert "unreadable shard" in capsys.readouterr().err
    assert not out.exists()  # a rerun with a repaired corpus is not refused as another run


def test_coq_theorems_under_the_default_lean_backend_say_to_add_the_coq_backend(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default backend is Lean's: a Coq statement, a Coq benchmark file (prove and sweep) and a Lean
    file under the Coq backend are refused naming the backend that reads them, before anything starts."""
    coq = tmp_path / "coq.jsonl"
    coq.write_text(json.dumps({"name": "t", "split": "test", "statement": "Theorem t : True."}) + "\n")
    lean = tmp_path / "lean.jsonl"
    lean.write_text(json.dumps({"name": "t", "split": "test", "header": "import Mathlib",
                                "statement": "theorem t : True :="}) + "\n")
    out = str(tmp_path / "out")
    assert run(["prove", "Theorem t : True."], capsys) == (
        2, "error: the statement must start with `theorem NAME`, `lemma NAME` or `example`: got "
           "'Theorem t : True.' (it reads as Coq: add --backend coq)")
    assert run(["prove", "--file", str(coq), "--name", "t"], capsys) == (
        2, f"error: --file {coq} holds Coq theorems: add --backend coq")
    assert run(["sweep", str(coq), "--out", out], capsys) == (
        2, f"error: {coq} holds Coq theorems: add --backend coq")
    assert run(["sweep", str(lean), "--backend", "coq", "--out", out], capsys) == (
        2, f"error: {lean} holds Lean theorems: use --backend repl (or dojo)")
    assert not (tmp_path / "out").exists()


def test_a_later_theorem_of_a_coq_file_names_the_theorem_before_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text before a theorem is its header, which may not prove theorems: say so, not 'command not
    allowed' about the header."""
    path = tmp_path / "two.v"
    path.write_text("Require Import Arith.\n(* Lemma hidden : True. *)\nLemma first : 1 = 1.\n"
                    "Proof. reflexivity. Qed.\nLemma second : 2 = 2.\nProof. Admitted.\n")
    assert run(["prove", "--backend", "coq", "--file", str(path), "--name", "second"], capsys) == (
        2, f"error: {path}: 'second' comes after 'first' (line 3): the text before a theorem is its header, "
           "and a header may not prove theorems; prove the file's first theorem, or give 'second' a file "
           "(or --header) of its own")


def test_a_misnamed_file_of_a_swept_folder_says_to_rename_it_not_to_give_a_prove_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rocq"
    (folder / "valid").mkdir(parents=True)
    (folder / "valid" / "add0.v").write_text("Theorem add0 : forall n : nat, n + 0 = n.\n")
    (folder / "valid" / "named_wrong.v").write_text("Theorem different : True.\nProof. trivial. Qed.\n")
    code, err = run(["sweep", str(folder), "--split", "valid", "--backend", "coq",
                     "--out", str(tmp_path / "s")], capsys)
    assert code == 2
    assert err == (f"error: {folder}/valid/named_wrong.v: no theorem named 'named_wrong' (expected `Theorem "
                   "named_wrong` or `Lemma named_wrong` outside comments); it holds 'different': rename the "
                   "file after its theorem, or the theorem after the file (each .v file of a folder holds "
                   "one theorem named like the file)")
    assert "--name" not in err  # an option of prove alone
    code, err = run(["prove", "--backend", "coq", "--file", str(folder / "valid" / "named_wrong.v")], capsys)
    assert code == 2 and err.endswith("it holds 'different': give --name")  # prove has it
