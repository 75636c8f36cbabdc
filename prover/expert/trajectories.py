"""Training data from sweeps: the (state, tactic) pairs on every verified proof path, and preference pairs.

A proved sweep record carries its ``trajectory`` (``SearchGraph.trajectory``): per step, the state, the
tactic the proof took there, its mean token log-prob, the depth, and the sibling tactics the proof assistant
rejected at that state. Each step becomes one *pair*; each (step, rejected sibling) becomes one *preference*
(the proof's tactic is chosen, the sibling rejected).

Rows are plain JSON objects, written as JSONL (which ``datasets.load_dataset("json", ...)`` reads), with a
``manifest.json`` per round. Identical (state, tactic) pairs, from several theorems or attempts, are one row:
the first seen is kept and ``occurrences`` counts them (likewise for (state, chosen, rejected)).

A rejected sibling includes a tactic that timed out, and a tactic can time out at a state in one attempt
and prove or advance it in another (a busy machine, another search). A preference whose (state, rejected)
is also a pair of the same data is dropped (``drop_contradicted``): a tactic that worked at that state is no
bad tactic there, and SFT must not raise what DPO lowers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prover.expert.stages import read_jsonl, write_json, write_jsonl
from prover.sweep.store import RESULTS_FILE
from prover.sweep.store import read_records as sweep_records
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)

PAIRS_FILE = "pairs.jsonl"
PREFERENCES_FILE = "preferences.jsonl"
MANIFEST_FILE = "manifest.json"


class NoSweepResultsError(InputError, FileNotFoundError):
    """A folder given as a sweep's results holds no ``results.jsonl`` (``folder``)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(f"{folder}: no {RESULTS_FILE}; is it a sweep's results folder?")
        self.folder = folder


@dataclass
class Trajectories:
    """De-duplicated pairs and preferences of one collection, with what was counted on the way.

    ``counts``: records (attempts read), proved (proved records), without_trajectory (proved records whose
    trajectory is missing or empty, e.g. finished from the proof cache), steps (pairs before de-duplication),
    pairs, duplicate_pairs, rejected_siblings (before de-duplication), duplicate_preferences,
    contradicted_preferences (dropped: their rejected tactic is a pair at that state), preferences (kept).
    ``policies``: the policy (model path, hub id or tactic list) that produced each kept pair, counted."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    preferences: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    policies: Counter[str] = field(default_factory=Counter)


def read_records(folder: Path) -> list[dict[str, Any]]:
    """The finished attempts of a sweep's results folder, in file order, as the sweep reads them
    (``prover.sweep.store.read_records``: a torn last line is left out). Raises ``NoSweepResultsError``
    when the folder has no results file."""
    if not (folder / RESULTS_FILE).is_file():
        raise NoSweepResultsError(folder)
    return sweep_records(folder)


Step = tuple[dict[str, Any], list[dict[str, Any]]]


def steps_of(record: dict[str, Any], round_number: int) -> Iterator[Step]:
    """Per proof step of a proved record: its pair row and its preference rows (none if not proved)."""
    if record.get("status") != "proved":
        return
    common = {"theorem": record["theorem"], "split": record.get("split", ""),
              "attempt": record.get("attempt", 1), "round": round_number, "policy": record.get("policy", "")}
    for step in record.get("trajectory") or ():
        pair = {"state": step["state"], "tactic": step["tactic"], **common,
                "logprob": float(step["logprob"]), "depth": int(step["depth"]), "occurrences": 1}
        preferences = [
            {"state": step["state"], "chosen": step["tactic"], "rejected": rejected,
             "rejected_message": message, **common, "chosen_logprob": pair["logprob"],
             "depth": pair["depth"], "occurrences": 1}
            for rejected, message in step.get("failed") or ()
            if rejected.strip() and rejected != step["tactic"]
        ]
        yield pair, preferences


def _merge(rows: dict[tuple[str, ...], dict[str, Any]], key: tuple[str, ...], row: dict[str, Any]) -> bool:
    """Add ``row`` under ``key`` or count one more occurrence of it; True if it was new."""
    if key in rows:
        rows[key]["occurrences"] += 1
        return False
    rows[key] = row
    return True


def collect_trajectories(folders: Sequence[Path], *, round_number: int) -> Trajectories:
    """Pairs and preferences from the proved records of the sweeps in ``folders`` (read in order).

    Raises ``NoSweepResultsError`` for a folder without results."""
    out = Trajectories()
    pairs: dict[tuple[str, ...], dict[str, Any]] = {}
    preferences: dict[tuple[str, ...], dict[str, Any]] = {}
    for folder in folders:
        for record in read_records(folder):
            out.counts["records"] += 1
            if record.get("status") != "proved":
                continue
            out.counts["proved"] += 1
            if not record.get("trajectory"):
                out.counts["without_trajectory"] += 1
                continue
            for pair, siblings in steps_of(record, round_number):
                out.counts["steps"] += 1
                if _merge(pairs, (pair["state"], pair["tactic"]), pair):
                    out.policies[pair["policy"]] += 1
                for preference in siblings:
                    out.counts["rejected_siblings"] += 1
                    key = (preference["state"], preference["chosen"], preference["rejected"])
                    _merge(preferences, key, preference)
    out.pairs = list(pairs.values())
    out.preferences = drop_contradicted(list(preferences.values()), out.pairs)
    out.counts["pairs"] = len(out.pairs)
    out.counts["duplicate_pairs"] = out.counts["steps"] - len(out.pairs)
    out.counts["duplicate_preferences"] = out.counts["rejected_siblings"] - len(preferences)
    out.counts["contradicted_preferences"] = len(preferences) - len(out.preferences)
    out.counts["preferences"] = len(out.preferences)
    return out


def drop_contradicted(preferences: Sequence[dict[str, Any]], pairs: Iterable[dict[str, Any]],
                      ) -> list[dict[str, Any]]:
    """``preferences`` less those whose (state, rejected) is the (state, tactic) of one of ``pairs``: a
    tactic that proved or advanced that state somewhere (it timed out or failed here) is not a bad tactic
    there. The drops are logged; the order of the rest is kept."""
    good = {(pair["state"], pair["tactic"]) for pair in pairs}
    kept = [p for p in preferences if (p["state"], p["rejected"]) not in good]
    if len(kept) < len(preferences):
        logger.info("%d preference pairs dropped: their rejected tactic is a training pair at that state",
                    len(preferences) - len(kept))
    return kept


def write_trajectories(data: Trajectories, folder: Path, *, round_number: int,
                       sources: Sequence[Path]) -> dict[str, Any]:
    """Write pairs.jsonl, preferences.jsonl and manifest.json (last) into ``folder``; return the manifest."""
    write_jsonl(folder / PAIRS_FILE, data.pairs)
    write_jsonl(folder / PREFERENCES_FILE, data.preferences)
    models = dict(data.policies.most_common())
    manifest = {
        "round": round_number,
        "sources": [str(Path(s).resolve()) for s in sources],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": "jsonl",
        "files": {"pairs": PAIRS_FILE, "preferences": PREFERENCES_FILE},
        "model": next(iter(models)) if len(models) == 1 else None,
        "models": models,
        "counts": dict(sorted(data.counts.items())),
    }
    write_json(folder / MANIFEST_FILE, manifest)
    return manifest


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a pairs or preferences file."""
    return list(read_jsonl(path))


def union_pairs(groups: Iterable[Iterable[dict[str, Any]]], key_fields: tuple[str, ...] = ("state", "tactic"),
                ) -> list[dict[str, Any]]:
    """The rows of several rounds, de-duplicated on ``key_fields``: the first (earliest round) is kept and
    ``occurrences`` adds up."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for group in groups:
        for row in group:
            key = tuple(row[f] for f in key_fields)
            if key in rows:
                rows[key]["occurrences"] = rows[key].get("occurrences", 1) + row.get("occurrences", 1)
            else:
                rows[key] = dict(row)
    return list(rows.values())
