"""What a run folder belongs to (``run.json``, or another manifest beside it): written by the first run,
checked by every rerun, so that a resume never mixes two runs' rounds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.expert.stages import write_json
from prover.sweep.manifest import read_manifest
from prover.theorem_input import InputError

RUN_MANIFEST = "run.json"
ADDED_KEYS = frozenset({"benchmark_digest", "corpus_digest", "backend_settings", "filter",  # older runs lack
                        "round0_heldout_state", "sweep", "driver"})


class RunMismatchError(InputError):
    """The run folder belongs to a run with another ``key`` (benchmark or base model)."""

    def __init__(self, folder: Path, key: str, old: Any, new: Any) -> None:
        changed = "; ".join(differences(key, old, new))
        super().__init__(f"{folder} holds an expert-iteration run with another {key} ({changed}): use "
                         "another --out, or delete the folder")
        self.folder, self.key, self.old, self.new = folder, key, old, new


def differences(key: str, old: Any, new: Any, limit: int = 5) -> list[str]:
    """``key.sub: OLD there, NEW now`` for each leaf where two manifest values differ (the first
    ``limit``, then a count), so that one changed setting reads as that setting, not as its whole group."""
    found: list[str] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for sub in sorted(set(a) | set(b), key=str):
                walk(f"{path}.{sub}", a.get(sub), b.get(sub))
        elif a != b:
            found.append(f"{path}: {a!r} there, {b!r} now")

    walk(key, old, new)
    shown = [text if len(text) <= 300 else text[:297] + "..." for text in found[:limit]]
    return shown + ([f"{len(found) - limit} more"] if len(found) > limit else [])


def check_run(out: Path, manifest: dict[str, Any], *, name: str = RUN_MANIFEST,
              keys: Sequence[str] | None = None) -> None:
    """Write ``run.json`` (or the manifest ``name`` under ``out``), or check that the existing one describes
    the same run: every key either holds (benchmark, parts, samples, corpus, settings, budget, rules), or
    only ``keys``; raises ``RunMismatchError`` naming the first key that differs. A key only one of them
    holds differs (a setting written only when it is not the default, such as ``data_budget``, given to
    one run and not the other), except a key of ``ADDED_KEYS`` the existing file lacks: added to the
    manifest since that run was written, it is not compared."""
    path = out / name
    if not path.exists():
        write_json(path, manifest)
        return
    old = read_manifest(path)
    fresh = json.loads(json.dumps(manifest))  # tuples as lists, as the file holds them
    compared = [*fresh, *(key for key in old if key not in fresh)] if keys is None else list(keys)
    for key in compared:
        if key in ADDED_KEYS and key not in old:
            continue
        if old.get(key) != fresh.get(key):
            raise RunMismatchError(out, key, old.get(key), fresh.get(key))
