"""A sweep writes one explorer page per theorem into OUT/graphs/ and links each from report.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sweep_fixtures import BackendFactory, policy_factory, scripted_spec, write_benchmark

from prover.sweep import SweepConfig, run_sweep
from prover.sweep.folder_report import report_from_folder
from prover.sweep.graph_pages import existing_pages, page_name
from search import SearchConfig

SEARCH = SearchConfig(max_expansions=20, time_limit=None)


def test_page_names_are_safe_and_distinct() -> None:
    assert page_name("mathd_algebra_10") == "mathd_algebra_10.html"
    odd = [page_name(name) for name in ("a/b", "a b", "a:b", "../x", "ℕ_lemma")]
    assert len(set(odd)) == len(odd)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+\.html", name) and not name.startswith(".") for name in odd)


def test_page_names_differ_on_case_insensitive_file_systems() -> None:
    # Foo.html and foo.html would be one file on macOS or Windows (and one theorem's rewrite of its
    # NAME.searches folder would delete the other's): names with capitals get a hash of the exact name
    names = ["Foo", "foo", "FOO", "fOo", "Nat_add_comm", "nat_add_comm", "a/B", "a/b", "A_b",
             "x-deadbeef", "X", "x-" + page_name("X").removesuffix(".html").split("-")[-1]]
    pages = [page_name(name) for name in names]
    assert len({page.casefold() for page in pages}) == len(names), pages
    assert page_name("foo") == "foo.html" and page_name("Foo") != "Foo.html"
    assert re.fullmatch(r"Foo-[0-9a-f]{8}\.html", page_name("Foo"))
    assert page_name("Foo") == page_name("Foo")  # stable: a resumed sweep finds its pages


@pytest.mark.slow
def test_a_sweep_links_a_page_per_theorem(ray_cluster, tmp_path: Path) -> None:
    names = {"p0": "provable", "p1": "provable", "u0": "unprovable", "bad": "invalid"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    summary, paths = run_sweep(SweepConfig(workers=2, attempts=2, out=str(out)), benchmark=str(bench),
                               backend_factory=BackendFactory(names), policy_factory=policy_factory,
                               spec=scripted_spec(SEARCH))
    graphs = out / "graphs"
    assert sorted(p.name for p in graphs.glob("*.html")) == ["p0.html", "p1.html", "u0.html"]  # not "bad"
    assert (graphs / "cytoscape.min.js").is_file() and (graphs / "cytoscape.LICENSE").is_file()
    page = (graphs / "u0.html").read_text(encoding="utf-8")
    assert '<script src="cytoscape.min.js">' in page and "u0 (attempt 2)" in page  # the last attempt's
    data = re.search(r'id="graph-data">(.*?)</script>', page, re.DOTALL)
    model = json.loads(data.group(1))
    assert model["counts"]["nodes"] == 2
    assert "no" in {failure["message"] for failure in model["nodes"][0]["failures"]}  # the error text
    report = paths["markdown"].read_text(encoding="utf-8")
    assert "| [p0](graphs/p0.html) |" in report and "| bad |" in report
    page_links = paths["html"].read_text(encoding="utf-8")  # report.html links the same pages
    assert '<a href="graphs/p0.html">p0</a>' in page_links and 'href="graphs/bad.html"' not in page_links
    assert {t.name: t.page for t in summary.theorems} == {
        "p0": "graphs/p0.html", "p1": "graphs/p1.html", "u0": "graphs/u0.html", "bad": None}
    stored = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert stored and all("graph" not in record for record in stored)  # results.jsonl stays small
    # prover report OUT rewrites the report with the same links
    paths["markdown"].unlink()
    _, again = report_from_folder(out)
    assert "| [u0](graphs/u0.html) |" in again["markdown"].read_text(encoding="utf-8")
    assert existing_pages(out, ["p0", "nope"]) == {"p0": "graphs/p0.html"}


@pytest.mark.slow
def test_pages_can_be_turned_off(ray_cluster, tmp_path: Path) -> None:
    names = {"p0": "provable"}
    bench = write_benchmark(tmp_path / "bench.jsonl", names)
    out = tmp_path / "out"
    run_sweep(SweepConfig(workers=1, out=str(out), graph_pages=False), scripted_spec(SEARCH),
              benchmark=str(bench), backend_factory=BackendFactory(names), policy_factory=policy_factory)
    assert not (out / "graphs").exists()
    assert "| p0 |" in (out / "report.md").read_text(encoding="utf-8")
