"""Reading miniF2F-rocq as its repository lays it out (``DIR/test/*.v``, ``DIR/valid/*.v``) and as the
shared JSONL with its ``coq_8_16`` marks. The folder is rebuilt in tmp_path from rows of
../shared/benchmarks/minif2f_rocq_valid.jsonl: no copy of the data lives in the project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.sweep import ResultStore, load_benchmark, pending_tasks, summarise
from prover.sweep.report import markdown
from prover.sweep.runner import record_known_invalid
from prover.theorem_input import InputError, coq_theorem_from_file, theorem_from_file
from search.backends.coq.header_text import without_comments
from search.backends.coq.safety import check_coq_theorem

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
ROCQ_VALID = SHARED / "minif2f_rocq_valid.jsonl"
# Rows with a plain header, a header opening with a comment, definitions (Fixpoint) in the header, an
# empty header, a statement holding a comment, and one marked coq_8_16.
PICKED = ("aime_1983_p9", "mathd_numbertheory_326", "amc12a_2003_p1", "aime_1991_p1", "amc12b_2020_p5",
          "amc12a_2009_p15")


def rocq_rows(names: tuple[str, ...] = PICKED) -> dict[str, dict]:
    rows = {}
    for line in ROCQ_VALID.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["name"] in names:
            rows[row["name"]] = row
    assert set(rows) == set(names)
    return rows


def write_v(folder: Path, row: dict, tail: str = "Proof.\nAdmitted.\n") -> Path:
    """One upstream-style file: header, statement, then the (ignored) rest."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row['name']}.v"
    path.write_text(f"{row['header']}\n\n{row['statement']}\n{tail}", encoding="utf-8")
    return path


def test_a_folder_reads_back_the_rows_it_was_built_from(tmp_path: Path) -> None:
    rows = rocq_rows()
    for row in rows.values():
        write_v(tmp_path / "valid", row)
    items = load_benchmark(tmp_path, "valid")
    assert [i.theorem.name for i in items] == sorted(rows)  # files in name order
    for item in items:
        row = rows[item.theorem.name]
        assert item.split == "valid" and item.invalid is None
        assert item.theorem.statement == without_comments(row["statement"]).strip()
        assert item.theorem.header.strip() == row["header"].strip()


def test_split_picks_the_folder_and_no_split_reads_both(tmp_path: Path) -> None:
    rows = rocq_rows(("aime_1983_p9", "aime_1991_p1"))
    write_v(tmp_path / "valid", rows["aime_1983_p9"])
    write_v(tmp_path / "test", rows["aime_1991_p1"], tail="")  # nothing after the statement
    assert [i.theorem.name for i in load_benchmark(tmp_path, "test")] == ["aime_1991_p1"]
    assert [i.theorem.name for i in load_benchmark(tmp_path, "valid")] == ["aime_1983_p9"]
    assert {(i.theorem.name, i.split) for i in load_benchmark(tmp_path)} == {
        ("aime_1991_p1", "test"), ("aime_1983_p9", "valid")}
    with pytest.raises(InputError, match=r"no other/ folder"):
        load_benchmark(tmp_path, "other")


def test_a_file_without_a_theorem_named_like_it_is_an_error_naming_the_file(tmp_path: Path) -> None:
    row = rocq_rows(("aime_1983_p9",))["aime_1983_p9"]
    path = write_v(tmp_path / "valid", row)
    path.rename(tmp_path / "valid" / "renamed.v")
    with pytest.raises(InputError, match=r"valid/renamed\.v: no theorem named 'renamed'"):
        load_benchmark(tmp_path, "valid")
    empty = tmp_path / "empty"
    (empty / "test").mkdir(parents=True)
    with pytest.raises(InputError, match=r"no \.v files"):
        load_benchmark(empty)


def test_declarations_in_comments_and_the_proof_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t1.v"
    path.write_text("(* Theorem t1 : False. is only a comment *)\nRequire Import Arith.\n\n"
                    "Lemma t1 (n : nat) : (* (* nested *) *) n + 0 = n.\nProof.\n  lia.\nQed.\n"
                    "Theorem t2 : True.\n")
    theorem = coq_theorem_from_file(path)
    assert theorem.statement == "Lemma t1 (n : nat) : n + 0 = n."  # the statement's comment removed
    assert theorem.header == "(* Theorem t1 : False. is only a comment *)\nRequire Import Arith.\n"
    with pytest.raises(InputError, match=r"'t2' comes after 't1' \(line 4\)"):  # a header proves nothing
        theorem_from_file(path, "t2")
    unfinished = tmp_path / "t3.v"
    unfinished.write_text("Theorem t3 : True")
    with pytest.raises(InputError, match=r"t3\.v:1: the statement of 't3' has no final"):
        coq_theorem_from_file(unfinished)
    open_comment = tmp_path / "t4.v"
    open_comment.write_text("Require Import Arith.\n\nTheorem t4 :\n  (* a (* nested *) one. True.\n")
    with pytest.raises(InputError, match=r"t4\.v:3 \(t4\): unterminated comment"):
        coq_theorem_from_file(open_comment)


def test_a_string_inside_a_comment_and_a_byte_order_mark_are_read_as_coq_reads_them(tmp_path: Path) -> None:
    """Coq's lexer reads strings inside comments (``"*)"`` closes nothing) and coqc skips a UTF-8 BOM."""
    path = tmp_path / "y6.v"
    path.write_bytes('\ufeff(* header (* nested *) "str *)" *)\nRequire Import Arith.\n'
                     "Theorem y6 : 1 + 1 = 2.\nProof.\nAdmitted.\n".encode())
    theorem = coq_theorem_from_file(path)
    assert theorem.statement == "Theorem y6 : 1 + 1 = 2."
    assert theorem.header == '(* header (* nested *) "str *)" *)\nRequire Import Arith.\n'
    assert check_coq_theorem(theorem.name, theorem.header, theorem.statement) is None


COMMENTED = ("amc12b_2020_p5", "imo_1977_p5")  # the valid rows whose statements hold comments
ASSUMING = "amc12a_2016_p3"  # its header declares `Parameter Rfloor` and `Axiom Rfloor_spec`


def test_coq_rows_lose_their_statement_comments_and_pass_the_filter() -> None:
    as_written = {i.theorem.name: i.theorem for i in load_benchmark(ROCQ_VALID, "valid")}
    coq = {i.theorem.name: i.theorem for i in load_benchmark(ROCQ_VALID, "valid", "coq")}
    for name in COMMENTED:
        assert "(*" in as_written[name].statement  # other assistants' rows are kept as written
        assert "comments are not allowed" in (check_coq_theorem(name, as_written[name].header,
                                                                as_written[name].statement) or "")
        assert "(*" not in coq[name].statement and "*)" not in coq[name].statement
    assert coq["amc12b_2020_p5"].statement.splitlines()[2] == "  ap = aw + al ->"
    assert "r < a + b ->\n" in coq["imo_1977_p5"].statement
    refused = {name: reason for name, t in coq.items()
               if (reason := check_coq_theorem(name, t.header, t.statement)) is not None}
    assert set(refused) == {ASSUMING}, refused  # every other row, the 8 marked coq_8_16 included
    assert refused[ASSUMING].startswith("header: 'Parameter' is not allowed: it declares an assumption")
    assert "Parameter Rfloor" in refused[ASSUMING]


def test_a_row_with_an_unterminated_statement_comment_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"name": "ok", "split": "valid", "header": "", "statement": "Theorem ok : True."},
            {"name": "bad", "split": "valid", "header": "", "statement": "Theorem bad : (* True."}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(InputError, match=r"rows\.jsonl:2 \(bad\): unterminated comment"):
        load_benchmark(path, "valid", "coq")
    assert [i.theorem.statement for i in load_benchmark(path, "valid")][1] == "Theorem bad : (* True."
    with pytest.raises(InputError, match=r"rows\.jsonl:2 \(bad\): unterminated comment"):
        theorem_from_file(path, "bad", "coq")


def test_prove_proves_a_row_whose_statement_holds_a_comment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--json", "--file", str(ROCQ_VALID),
                 "--name", "amc12b_2020_p5"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"], result
    assert "(*" not in result["proof"]["text"] and "  ap = aw + al ->\n" in result["proof"]["text"]


def test_prove_names_why_a_header_that_declares_an_axiom_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--file", str(ROCQ_VALID),
                 "--name", ASSUMING])
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 2
    assert "'Parameter' is not allowed: it declares an assumption, which a proof could use without" in err


def test_coq_8_16_rows_are_invalid_with_their_reason_and_never_run(tmp_path: Path) -> None:
    items = load_benchmark(ROCQ_VALID, "valid")
    assert len(items) == 244
    invalid = {i.theorem.name: i.invalid for i in items if i.invalid is not None}
    assert len(invalid) == 8 and "amc12a_2009_p15" in invalid
    assert invalid["amc12a_2009_p15"].startswith("coq_8_16: does not elaborate with Coq 8.16.1")
    picked = [i for i in items if i.theorem.name in PICKED]
    with ResultStore(tmp_path) as store:
        record_known_invalid(picked, store)
        record_known_invalid(picked, store)  # a resumed sweep writes nothing twice
        records = list(store.records)
    assert [(r["theorem"], r["status"]) for r in records] == [("amc12a_2009_p15", "invalid")]
    queued = [t.theorem.name for t in pending_tasks(picked, records, attempts=1)]
    assert "amc12a_2009_p15" not in queued and len(queued) == len(PICKED) - 1
    summary = summarise(picked, records, attempts=1)
    assert summary.invalid == 1 and summary.total == len(PICKED)
    report = markdown(summary, "minif2f_rocq_valid valid", "plot.png")
    assert "## Invalid statements" in report and "- amc12a_2009_p15: coq_8_16: does not elaborate" in report


def test_prove_file_takes_a_minif2f_rocq_file_without_a_name(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "add_zero_right.v"
    path.write_text("Require Import Arith.\n\n"
                    "Theorem add_zero_right : forall n : nat, n + 0 = n.\nProof.\nAdmitted.\n")
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--json", "--file", str(path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["theorem"] == "add_zero_right" and result["proved"]
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--file", str(path), "--name", "other"])
    err = "".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert code == 2 and "add_zero_right.v:notheoremnamed'other'" in err


def test_prove_loads_the_policys_libraries_after_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--json", "--header",
                 "Require Import Reals.\nOpen Scope R_scope.", "Theorem r1 : forall x : R, x < x + 1."])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"]
    text = result["proof"]["text"]
    assert "Require Import Lra." in text and "From Hammer Require Import Tactics." in text
    assert text.index("Open Scope R_scope.") < text.index("Require Import Lra.") < text.rindex("Theorem r1")


@pytest.mark.slow
def test_sweep_a_minif2f_rocq_folder(ray_cluster, tmp_path: Path) -> None:
    rows = rocq_rows(("mathd_algebra_123", "mathd_numbertheory_301", "aime_1983_p9", *COMMENTED, ASSUMING))
    for row in rows.values():
        write_v(tmp_path / "bench" / "valid", row)
    write_v(tmp_path / "bench" / "test", rows["aime_1983_p9"])  # another split: not run
    out = tmp_path / "out"
    code = main(["sweep", str(tmp_path / "bench"), "--split", "valid", "--backend", "coq", "--policy",
                 "tactics", "--workers", "2", "--max-expansions", "8", "--time-limit", "60",
                 "--out", str(out)])
    assert code == 0
    records = {r["theorem"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert set(records) == set(rows)
    assert records["mathd_algebra_123"]["status"] == "proved"
    assert records["mathd_algebra_123"]["split"] == "valid"
    assert records["amc12b_2020_p5"]["status"] == "proved"  # its statement's comment is gone
    assert records[ASSUMING]["status"] == "invalid"
    manifest = json.loads((out / "sweep.json").read_text())
    assert "From Hammer Require Import Tactics." in manifest["imports"]
    report = (out / "report.md").read_text()
    assert "Libraries loaded after each header" in report
    assert f"- {ASSUMING}: header: 'Parameter' is not allowed: it declares an assumption" in report


def test_a_sweep_queue_keeps_theorems_of_one_header_together() -> None:
    from collections import deque

    from prover.sweep.runner import by_header
    from prover.sweep.worker import Task
    from search import Theorem

    reals, arith = "Require Import Reals.", "Require Import Arith."
    headers = [reals, arith, "Require  Import Reals.", "", arith]
    queue = deque(Task(Theorem(f"t{i}", f"Theorem t{i} : True.", h), "valid", 1)
                  for i, h in enumerate(headers))
    assert [t.theorem.name for t in by_header(queue)] == ["t0", "t2", "t1", "t4", "t3"]
