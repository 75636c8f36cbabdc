"""The Coq benchmark (prover/data/coq_basic.jsonl): well formed, and every known proof checks in coqc."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from search.backends.coq import (
    CoqBackend,
    CoqBackendConfig,
    CoqBenchmarkItem,
    check_coq_tactic,
    check_coq_theorem,
    read_coq_benchmark,
)
from search.backends.coq.verify import CLOSED, run_coqc
from search.types import Theorem

ROOT = Path(__file__).resolve().parents[3]
BENCHMARK = ROOT / "prover" / "data" / "coq_basic.jsonl"
KNOWN = Path(__file__).with_name("coq_known_proofs.json")


@pytest.fixture(scope="module")
def items() -> list[CoqBenchmarkItem]:
    return read_coq_benchmark(BENCHMARK)


@pytest.fixture(scope="module")
def known() -> dict[str, list[str]]:
    return json.loads(KNOWN.read_text())


def test_rows_have_the_shared_benchmark_fields() -> None:
    for line in BENCHMARK.read_text().splitlines():
        row = json.loads(line)
        assert list(row) == ["name", "split", "header", "statement", "difficulty"]


def test_benchmark_is_large_graded_and_split(items: list[CoqBenchmarkItem]) -> None:
    assert len(items) >= 60
    grades = Counter(item.difficulty for item in items)
    assert set(grades) == {1, 2, 3, 4} and grades[3] >= 15
    assert {item.split for item in items} == {"test", "valid"}
    assert read_coq_benchmark(BENCHMARK, split="valid") == [i for i in items if i.split == "valid"]


def test_every_theorem_passes_the_safety_filter(items: list[CoqBenchmarkItem]) -> None:
    for item in items:
        theorem = item.theorem
        assert check_coq_theorem(theorem.name, theorem.header, theorem.statement) is None, theorem.name


def test_every_theorem_has_a_known_proof_of_allowed_tactics(
    items: list[CoqBenchmarkItem], known: dict[str, list[str]]
) -> None:
    names = {item.theorem.name for item in items}
    assert set(known) == names
    for name, tactics in known.items():
        assert tactics, name
        for tactic in tactics:
            assert check_coq_tactic(tactic) is None, (name, tactic)
            # batched checking below puts theorems in one file: no proof may use another's theorem
            used = set(re.findall(r"[A-Za-z_][\w']*", tactic)) & (names - {name})
            assert not used, (name, tactic, used)


@pytest.mark.slow
def test_every_known_proof_verifies(items: list[CoqBenchmarkItem], known: dict[str, list[str]]) -> None:
    """One coqc run per header and at most 6 theorems, two at a time; each theorem must be closed on
    its own (``Print Assumptions`` once per theorem)."""
    by_header: dict[str, list[CoqBenchmarkItem]] = defaultdict(list)
    for item in items:
        by_header[item.theorem.header].append(item)
    groups = [same[i : i + 6] for same in by_header.values() for i in range(0, len(same), 6)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda group: _check_group(group, known), groups))
    for group, (code, output) in zip(groups, results, strict=True):
        assert code == 0, output[-2000:]
        assert output.count(CLOSED) == len(group), output[-2000:]


def _check_group(group: list[CoqBenchmarkItem], known: dict[str, list[str]]) -> tuple[int, str]:
    backend = CoqBackend()
    header = group[0].theorem.header
    parts = [header] if header.strip() else []
    for item in group:
        bare = Theorem(item.theorem.name, item.theorem.statement)  # the header comes once, above
        parts.append(f"{backend.render_proof(bare, known[item.theorem.name])}"
                     f"Print Assumptions {item.theorem.name}.")
    return run_coqc("\n\n".join(parts) + "\n", CoqBackendConfig())


@pytest.mark.parametrize("name", ["lia_add_comm", "sum_to_formula", "rev_rev_ind", "next_neq"])
def test_backend_verify_accepts_sample_known_proofs(
    items: list[CoqBenchmarkItem], known: dict[str, list[str]], name: str
) -> None:
    theorem = next(item.theorem for item in items if item.theorem.name == name)
    verdict = CoqBackend().verify(theorem, known[name])
    assert verdict.ok, verdict.messages


@pytest.mark.parametrize(("rows", "message"), [
    (['{"name": "a", "split": "test", "header": "", "statement": "Theorem a : True."}'], "malformed"),
    (['{"name": "a", "split": "train", "header": "", "statement": "Theorem a : True.", "difficulty": 1}'],
     "split"),
    (['{"name": "a", "split": "test", "header": "", "statement": "Theorem a : True.", "difficulty": 9}'],
     "difficulty"),
    (['{"name": "a", "split": "test", "header": "", "statement": "Theorem a : True.", "difficulty": 1}'] * 2,
     "twice"),
    (["not json"], "malformed"),
])
def test_malformed_benchmark_files_name_the_line(tmp_path: Path, rows: list[str], message: str) -> None:
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=message) as caught:
        read_coq_benchmark(path)
    assert "bench.jsonl:" in str(caught.value)
    with pytest.raises(ValueError, match="unknown split"):
        read_coq_benchmark(path, split="train")


def test_a_line_separator_inside_a_statement_keeps_the_row_whole(tmp_path: Path) -> None:
    statement = 'Theorem a : "x\u2028y\u0085z" = "x\u2028y\u0085z".'
    row = {"name": "a", "split": "test", "header": "", "statement": statement, "difficulty": 1}
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    [item] = read_coq_benchmark(path)
    assert item.theorem.statement == statement
