"""The sweep's proof cache journal: what the cache takes is appended, and read back by the next cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from prover.sweep.shared_cache import JournaledProofCache


def test_entries_survive_into_the_next_cache(tmp_path: Path) -> None:
    path = tmp_path / "proof_cache.jsonl"
    cache = JournaledProofCache(str(path))
    cache.publish_failure("goal-a", 10)
    cache.publish_proof("goal-a", ("intro n", "simp"))  # a proof replaces the failure
    cache.publish_proof("goal-a", ("intro n", "simp", "rfl"))  # longer: ignored, not journaled
    cache.publish_failure("goal-b", 5)
    cache.publish_failure("goal-b", 3)  # smaller budget: ignored, not journaled
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"key": "goal-a", "failed": 10}, {"key": "goal-a", "proof": ["intro n", "simp"]},
                     {"key": "goal-b", "failed": 5}]
    again = JournaledProofCache(str(path))
    assert again.lookup("goal-a").proof == ("intro n", "simp")
    assert again.lookup("goal-b").failed_expansions == 5 and again.lookup("goal-b").proof is None
    assert len(again) == 2


def test_a_damaged_journal_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "proof_cache.jsonl"
    path.write_text('{"key": "g", "proof": ["simp"]}\n{"key": "h", "pro\n{"key": "i", "failed": 2}\n')
    with caplog.at_level(logging.WARNING):
        cache = JournaledProofCache(str(path))
    assert cache.lookup("g").proof == ("simp",) and cache.lookup("i").failed_expansions == 2
    assert "unreadable cache entry skipped" in caplog.text


def test_an_unusable_journal_leaves_a_working_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cache = JournaledProofCache(str(tmp_path / "missing-folder" / "proof_cache.jsonl"))
    cache.publish_proof("g", ("simp",))
    assert cache.lookup("g").proof == ("simp",)
    assert "the cache starts empty" in caplog.text
