"""What a sweep's results folder says about the run that wrote it, and the check that a resume is the same
run: ``sweep.json`` (the benchmark, the search budget and the whole configuration, flattened) and
``config.toml`` (that configuration as a file ``--config`` reads, to resume or repeat the run).

A resume may change what does not change results (workers, their CPUs, the cluster, retries, the policy
servers, more attempts or theorems); any other difference is refused, naming each differing key. Keys the
folder's configuration lacks (settings added since it was written) and settings retired since
(``RETIRED_KEYS``) are not compared; folders written
before the configuration was recorded at all are checked on the keys their manifest holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from prover.atomic_files import write_json_atomic, write_text_atomic
from prover.run_spec import RETIRED_KEYS
from prover.sweep.store import RESULTS_FILE
from prover.theorem_input import InputError
from search import SearchConfig

MANIFEST = "sweep.json"
CONFIG_FILE = "config.toml"
RESUMABLE = (  # keys (or "table." prefixes) a resumed sweep may change: they do not change its results
    "sweep.attempts", "sweep.workers", "sweep.worker_cpus", "sweep.address", "sweep.out", "sweep.max_retries",
    "sweep.worker_start_timeout", "sweep.limit", "sweep.graph_pages", "driver.sessions", "server.",
    "model.device", "model.batch_size", "coq.keep_coqtops", "coq.audit_reuse", "repl.pool_size",
    # starting the proof assistant: a start that fails or runs past its limit ends in an error record (or
    # the sweep), never in a verdict, so a resume may start it more patiently. Not ``coq.kill_grace``: it
    # lengthens each tactic's deadline (without Coq's Timeout a slower tactic then succeeds); not the REPL's
    # import and command limits, which also bound a plan's check and a proof's verification (verdicts).
    "coq.start_timeout", "coq.start_attempts", "coq.start_backoff", "repl.start_attempts",
    "repl.start_backoff",
)
LEGACY_KEYS = ("benchmark", "split", "search", "backend", "planner", "imports")


class ConfigMismatchError(InputError):
    """The results folder holds a sweep run with another configuration; ``keys`` names the differences."""

    def __init__(self, folder: Path, differences: dict[str, tuple[Any, Any]], what: str = "a sweep") -> None:
        shown = "; ".join(f"{key}: {old!r} there, {new!r} now" for key, (old, new) in differences.items())
        hint = (f", or resume it as it was run: --config {folder / CONFIG_FILE}"
                if (folder / CONFIG_FILE).exists() else "")
        super().__init__(f"{folder} holds {what} with another configuration ({shown}): use another --out, "
                         f"delete the folder{hint}")
        self.folder, self.differences = folder, differences

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.differences)


def check_manifest(folder: Path, manifest: dict[str, Any], config_text: str | None = None, *,
                   name: str = MANIFEST, resumable: Sequence[str] = RESUMABLE, what: str = "a sweep") -> None:
    """Refuse to mix results of different runs in one folder (``ConfigMismatchError``), then write the
    manifest (``name``) and, given, the configuration file. ``manifest["config"]`` is the flattened
    configuration (``prover.run_spec.flatten``); the keys in ``resumable`` may change."""
    path = folder / name
    if path.exists():
        old = read_manifest(path, ("benchmark",) if name == MANIFEST else ())
        differences = config_differences(old, manifest, resumable)
        if differences:
            raise ConfigMismatchError(folder, differences, what)
    write_json_atomic(path, manifest)
    if config_text is not None:
        write_text_atomic(folder / CONFIG_FILE, config_text)


MANIFEST_TYPES: dict[str, tuple[type, ...]] = {  # the manifest keys a report reads, and their types
    "benchmark": (str,), "split": (str, type(None)), "attempts": (int, type(None)),
    "limit": (int, type(None)), "backend": (str, type(None)), "imports": (list, type(None)),
    "search": (dict, type(None)), "config": (dict, type(None))}


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def read_manifest(path: Path, required: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON object in a results folder's manifest ``path``; raises ``InputError`` naming the file when
    it cannot be read, is not a JSON object, or lacks a ``required`` key (a damaged or foreign folder)."""
    problem = ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    except json.JSONDecodeError as exc:
        problem = f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    else:
        if not isinstance(data, dict):
            problem = "is not a JSON object"
        elif missing := [key for key in required if key not in data]:
            problem = f"lacks {', '.join(missing)}"
        elif wrong := [key for key, kinds in MANIFEST_TYPES.items()
                       if key in data and not _is(data[key], kinds)]:
            problem = "has values of the wrong type: " + ", ".join(
                f"{key} {data[key]!r} (expected {' or '.join(k.__name__ for k in MANIFEST_TYPES[key])})"
                for key in wrong)
    if problem:
        raise InputError(f"{path} {problem}: the folder's record of its run is damaged; use another --out, "
                         "or delete the folder")
    return data


def refuse_foreign_folder(folder: Path, markers: tuple[str, ...] | None = None, what: str = "sweep") -> None:
    """Raise ``InputError`` when ``folder`` holds files but none of ``markers`` (the files a run of this
    kind leaves; by default a sweep's: its manifest, results and proof-cache journal): results and reports
    must not land among someone else's files (a benchmark's own folder, a home directory, another kind of
    run's folder)."""
    if markers is None:
        from prover.sweep.shared_cache import JOURNAL

        markers = (MANIFEST, RESULTS_FILE, JOURNAL)
    if not folder.is_dir() or any((folder / marker).exists() for marker in markers):
        return
    others = sorted(path.name for path in folder.iterdir() if path.name != ".lock")
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise InputError(f"{folder} holds other files ({shown}) and no {what} (no {markers[0]}): give --out "
                         "a new or empty folder")


def config_differences(old: dict[str, Any], new: dict[str, Any],
                       resumable: Sequence[str] = RESUMABLE) -> dict[str, tuple[Any, Any]]:
    """The keys whose values differ between two manifests, with (old, new) values: the whole
    configuration when both hold it, else the keys an older manifest holds."""
    differences: dict[str, tuple[Any, Any]] = {}
    if old.get("benchmark") != new.get("benchmark"):
        differences["benchmark"] = (old.get("benchmark"), new.get("benchmark"))
    if isinstance(old.get("config"), dict) and isinstance(new.get("config"), dict):
        before, now = old["config"], new["config"]
        for key in before:
            if key not in now and (_resumable(key, resumable) or key in RETIRED_KEYS):
                continue
            if not _resumable(key, resumable) and before[key] != now.get(key):
                differences[key] = (before[key], now.get(key))
        return differences
    for key in LEGACY_KEYS[1:]:
        before, now = old.get(key), new.get(key)
        if key == "search":
            before, now = _search_settings(before), _search_settings(now)
        if before != now:
            differences[key] = (old.get(key), new.get(key))
    return differences


def _resumable(key: str, resumable: Sequence[str]) -> bool:
    return any(key == item or (item.endswith(".") and key.startswith(item)) for item in resumable)


def _search_settings(recorded: Any) -> Any:
    """A manifest's search settings with every ``SearchConfig`` field it lacks at its default, so that a
    folder written before a field existed (``priority``) resumes when the field keeps its default."""
    if not isinstance(recorded, dict):
        return recorded
    return {**{f.name: f.default for f in fields(SearchConfig)}, **recorded}
