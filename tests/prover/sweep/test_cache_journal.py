"""The sweep's proof cache journal: what the cache takes is appended, and read back by the next cache."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from prover.sweep.shared_cache import JournaledProofCache
from search import FailureRecord, FailureScope

SCOPE = FailureScope("tactics:abc", tactics_per_node=4, tactic_timeout=5.0, max_expansions=20,
                     time_limit=None)


def test_entries_survive_into_the_next_cache(tmp_path: Path) -> None:
    path = tmp_path / "proof_cache.jsonl"
    cache = JournaledProofCache(str(path))
    cache.publish_failure("goal-a", SCOPE, 10)
    cache.publish_proof("goal-a", ("intro n", "simp"))  # a proof replaces the failure
    cache.publish_proof("goal-a", ("intro n", "simp", "rfl"))  # longer: ignored, not journaled
    cache.publish_failure("goal-b", SCOPE, 5)
    cache.publish_failure("goal-b", replace(SCOPE, max_expansions=3), 3)  # smaller budget: not journaled
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"key": "goal-a", "failed": 10, "scope": SCOPE.as_dict()},
                     {"key": "goal-a", "proof": ["intro n", "simp"]},
                     {"key": "goal-b", "failed": 5, "scope": SCOPE.as_dict()}]
    again = JournaledProofCache(str(path))
    assert again.lookup("goal-a").proof == ("intro n", "simp")
    entry = again.lookup("goal-b")
    assert entry.proof is None and entry.failures == (FailureRecord(SCOPE, 5),)
    assert entry.failed_under(SCOPE) and not entry.failed_under(replace(SCOPE, max_expansions=50))
    assert len(again) == 2


def test_failures_of_an_older_journal_load_but_are_not_reused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "proof_cache.jsonl"
    path.write_text('{"key": "g", "failed": 10}\n{"key": "p", "proof": ["simp"]}\n')  # no scopes
    with caplog.at_level(logging.INFO):
        cache = JournaledProofCache(str(path))
    assert cache.lookup("g") is None and cache.lookup("p").proof == ("simp",)
    assert "1 failures without policy and budget" in caplog.text
    cache.publish_failure("g", SCOPE, 4)  # the journal goes on in the new format
    assert json.loads(path.read_text().splitlines()[-1])["scope"] == SCOPE.as_dict()
    assert JournaledProofCache(str(path)).lookup("g").failed_under(SCOPE)


def test_a_damaged_journal_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "proof_cache.jsonl"
    scope = json.dumps(SCOPE.as_dict())
    path.write_text('{"key": "g", "proof": ["simp"]}\n{"key": "h", "pro\n'
                    f'{{"key": "i", "failed": 2, "scope": {scope}}}\n'
                    '{"key": "j", "failed": 2, "scope": {"policy": ""}}\n'
                    '{"key": "k", "failed": 2, "scope": [1]}\n')
    with caplog.at_level(logging.WARNING):
        cache = JournaledProofCache(str(path))
    assert cache.lookup("g").proof == ("simp",) and cache.lookup("i").failures == (FailureRecord(SCOPE, 2),)
    assert cache.lookup("j") is None and cache.lookup("k") is None
    assert caplog.text.count("unreadable cache entry skipped") == 3


def test_a_journal_cut_in_the_middle_of_a_character_keeps_its_whole_lines(tmp_path: Path) -> None:
    """A kill (or a full disk) can cut the last line inside a multi-byte character: that line is skipped,
    the sweep and `prover report` go on."""
    path = tmp_path / "proof_cache.jsonl"
    path.write_bytes(b'{"key": "g", "proof": ["simp"]}\n{"key": "n : \xe2\x84')
    assert JournaledProofCache(str(path)).lookup("g").proof == ("simp",)
    assert JournaledProofCache.read(path).stats_dict()["proofs"] == 1


def test_an_entry_appended_after_a_torn_last_line_is_kept(tmp_path: Path) -> None:
    """The torn line is cut off before anything is appended, so the next entry does not join it; a last
    line that lacks only its line break keeps its entry."""
    path = tmp_path / "proof_cache.jsonl"
    path.write_text('{"key": "g1", "proof": ["lia"]}\n{"key": "g2", "pro')
    JournaledProofCache(str(path)).publish_proof("g3", ("auto",))
    again = JournaledProofCache(str(path))
    assert again.lookup("g1").proof == ("lia",) and again.lookup("g3").proof == ("auto",)
    assert path.read_text().count("\n") == 2 and '"g2"' not in path.read_text()
    whole = tmp_path / "whole.jsonl"
    whole.write_text('{"key": "g1", "proof": ["lia"]}')  # no line break after a whole entry
    JournaledProofCache(str(whole)).publish_proof("g2", ("auto",))
    both = JournaledProofCache(str(whole))
    assert both.lookup("g1").proof == ("lia",) and both.lookup("g2").proof == ("auto",)


def test_an_unusable_journal_leaves_a_working_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cache = JournaledProofCache(str(tmp_path / "missing-folder" / "proof_cache.jsonl"))
    cache.publish_proof("g", ("simp",))
    assert cache.lookup("g").proof == ("simp",)
    assert "the 0 entries read are kept, new entries are not journaled" in caplog.text
