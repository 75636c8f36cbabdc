"""Resumable stages: a stage marks itself done only after its outputs are written, so a rerun after any
interruption skips exactly the finished stages and redoes the one that was cut off.

A stage's marker is ``<round folder>/<stage>.done.json`` holding the stage's summary (what later stages and
the report read). Outputs and markers are written to a temporary file and renamed into place, so a reader
never sees half a file.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prover.atomic_files import atomic_path
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)

STAGES = ("sweep", "collect", "filter", "train")
TACTIC_STAGE = "tactic_model"  # the retrieval loop's small-transformer stage (prover.expert.tactic_rounds)


class StageOrderError(InputError, RuntimeError):
    """A stage needs the output of an earlier stage that has not finished (``stage``, ``missing``)."""

    def __init__(self, folder: Path, stage: str, missing: str) -> None:
        super().__init__(f"{folder}: stage {stage!r} needs {missing!r}, which has not finished")
        self.folder = folder
        self.stage = stage
        self.missing = missing


def round_dir(out: Path, round_number: int) -> Path:
    """The folder of round ``round_number`` (1-based) of the run in ``out``."""
    return out / f"round-{round_number:02d}"


def round_numbers(out: Path) -> list[int]:
    """The numbers of the round folders of the run in ``out``, in order."""
    return sorted(int(m.group(1)) for p in out.glob("round-*") if (m := re.fullmatch(r"round-(\d+)", p.name)))


def marker_path(folder: Path, stage: str) -> Path:
    return folder / f"{stage}.done.json"


def stage_info(folder: Path, stage: str) -> dict[str, Any] | None:
    """The summary a finished stage recorded, or ``None`` if it has not finished."""
    path = marker_path(folder, stage)
    if not path.exists():
        return None
    try:
        return _json_object(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not UTF-8, not JSON, or not an object
        raise InputError(f"{path}: damaged stage marker ({exc}): delete it and rerun to redo the "
                         f"{stage} stage") from exc


def _json_object(text: str) -> dict[str, Any]:
    """``text`` as a JSON object; ``ValueError`` when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def require_stage(folder: Path, stage: str, needed_by: str) -> dict[str, Any]:
    """The summary of a stage that must have finished; raises ``StageOrderError`` otherwise."""
    info = stage_info(folder, stage)
    if info is None:
        raise StageOrderError(folder, needed_by, stage)
    return info


def run_stage(folder: Path, stage: str, action: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Run ``action`` unless ``stage`` already finished in ``folder``; return (summary, whether it ran).

    The summary gets ``seconds`` and ``finished_at`` and is written as the stage's marker after ``action``
    returned, i.e. after it wrote its outputs. An exception from ``action`` leaves no marker."""
    done = stage_info(folder, stage)
    if done is not None:
        logger.info("%s: %s already done, skipped", folder.name, stage)
        return done, False
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("%s: %s ...", folder.name, stage)
    started = time.perf_counter()
    info = dict(action())
    info["seconds"] = round(time.perf_counter() - started, 3)
    info["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(marker_path(folder, stage), info)
    return info, True


def _replace_atomically(path: Path, write: Callable[[Any], None]) -> None:
    with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8") as fh:
        write(fh)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    _replace_atomically(path, lambda fh: fh.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n"))


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write one JSON object per line, atomically; returns the number of rows."""
    count = 0

    def write(fh: Any) -> None:
        nonlocal count
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1

    _replace_atomically(path, write)
    return count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSONL file (blank lines skipped). Raises ``InputError`` naming the file and line of
    a row that is not a JSON object (a file damaged since its stage wrote it)."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = _json_object(line)
            except ValueError as exc:
                raise InputError(f"{path}:{number}: damaged ({getattr(exc, 'msg', exc)}): delete the "
                                 ".done.json marker of the stage that wrote it (in its round folder) and "
                                 "rerun") from exc
            yield row
