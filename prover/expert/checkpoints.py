"""Which checkpoint a rerun of a training resumes from, and the error a failed save becomes.

transformers writes ``checkpoint-N`` in steps: weights, optimiser, scheduler, RNG, ``trainer_state.json``
last. A kill or a full disk in between leaves a folder that ``get_last_checkpoint`` still picks (it looks at
names only), and then every rerun fails on it (``Can't find a valid checkpoint``, no ``trainer_state.json``,
``SafetensorError`` on truncated weights). Here a rerun resumes from the newest *complete* checkpoint, and
an incomplete one is renamed ``incomplete-checkpoint-N`` (kept for inspection, a warning names it). The new
name must not start with ``checkpoint-``: the Trainer's rotation (``save_total_limit``) globs
``checkpoint-*`` and would count ``checkpoint-N.incomplete`` as the newest checkpoint, deleting a real one.

Complete means: ``trainer_state.json`` parses; the weights open (each safetensors file's header, which
safetensors checks against the file's size; a pytorch ``.bin`` as a zip archive); ``optimizer.pt`` and
``scheduler.pt`` are zip archives (``torch.save``'s format: a truncated archive has lost its central
directory, stored at the end). Only headers are read, never the tensors, so the check is cheap for a large
model too.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.errors import ProverError

if TYPE_CHECKING:
    from transformers import Trainer

logger = logging.getLogger(__name__)

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")  # transformers' PREFIX_CHECKPOINT_DIR and its numbering
INCOMPLETE_PREFIX = "incomplete-"
STATE_FILE = "trainer_state.json"
RESUME_FILES = ("optimizer.pt", "scheduler.pt")  # what a resume restores besides the weights and the state


class TrainingSaveError(ProverError, OSError):
    """Writing a checkpoint or the final model into ``folder`` failed (``reason``: a full disk, a folder
    made unwritable, a safetensors write error).

    An ``OSError`` (the machine's state, not a bug), with ``filename`` and ``strerror`` set so that the
    CLI's handler of ``OSError`` prints ``folder: reason``; the message says how to go on."""

    def __init__(self, folder: Path, reason: str) -> None:
        super().__init__(f"cannot save {folder}: {reason}; free space (or fix the folder) and rerun the same "
                         "command: training resumes from the last complete checkpoint")
        self.folder = folder
        self.reason = reason
        self.filename = str(folder)
        self.strerror = reason

    def __str__(self) -> str:  # not OSError's "[Errno None] reason: 'folder'"
        return str(self.args[0])


def save_error(folder: Path, exc: BaseException) -> TrainingSaveError:
    """The ``TrainingSaveError`` for ``exc`` raised while writing ``folder``."""
    if isinstance(exc, OSError):
        reason = "no space left on device" if exc.errno == errno.ENOSPC else str(exc.strerror or exc)
        if exc.filename and Path(str(exc.filename)).name:
            reason += f" (writing {Path(str(exc.filename)).name})"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return TrainingSaveError(folder, reason)


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` (a ``checkpoint-N``) cannot be resumed from, or ``None`` when it is complete."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {STATE_FILE}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{STATE_FILE} does not parse ({exc})"
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        return f"{STATE_FILE} has no global_step"
    problem = _weights_problem(folder)
    if problem:
        return problem
    for name in RESUME_FILES:
        problem = _archive_problem(folder / name)
        if problem:
            return problem
    return None


def checkpoint_state(folder: Path) -> dict[str, Any]:
    """The trainer state of a complete checkpoint (``trainer_state.json``: ``global_step``, ``log_history``
    ...)."""
    state: dict[str, Any] = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    return state


def logged_loss(folder: Path) -> float | None:
    """The mean training loss a complete checkpoint's log history records: its logged losses, each weighted
    by the steps it averages (those since the previous log), so the mean over the logged steps; ``None`` when
    it logged none (a run that stopped before its first log)."""
    total, steps, previous = 0.0, 0, 0
    for entry in checkpoint_state(folder).get("log_history") or ():
        step = entry.get("step")
        if "loss" in entry and isinstance(step, int) and step > previous:
            total += float(entry["loss"]) * (step - previous)
            steps += step - previous
            previous = step
    return total / steps if steps else None


def _weights_problem(folder: Path) -> str | None:
    """Why the model weights in ``folder`` do not open (safetensors, sharded or not; else a pytorch .bin)."""
    from safetensors import SafetensorError, safe_open

    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"{index.name} does not parse ({exc})"
    elif (folder / "model.safetensors").is_file():
        names = ["model.safetensors"]
    elif (folder / "pytorch_model.bin").is_file():
        return _archive_problem(folder / "pytorch_model.bin")
    else:
        return "no model weights"
    for name in names:
        try:
            with safe_open(str(folder / name), framework="pt"):
                pass
        except (SafetensorError, OSError) as exc:
            return f"{name} does not open ({exc})"
    return None


def _archive_problem(path: Path) -> str | None:
    """Why ``path`` (written by ``torch.save``) is not a whole zip archive."""
    if not path.is_file():
        return f"no {path.name}"
    try:
        with zipfile.ZipFile(path):
            return None
    except (OSError, zipfile.BadZipFile) as exc:
        return f"{path.name} is truncated or damaged ({exc})"


def checkpoints(work_dir: Path) -> list[Path]:
    """The ``checkpoint-N`` folders of ``work_dir``, newest (highest N) first."""
    if not work_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in work_dir.iterdir()
             if (m := CHECKPOINT.match(p.name)) and p.is_dir()]
    return [path for _, path in sorted(found, reverse=True)]


def set_aside(folder: Path, reason: str) -> Path:
    """Rename the incomplete checkpoint ``folder`` to ``incomplete-<name>`` (a free name); warn; return it."""
    target = folder.with_name(INCOMPLETE_PREFIX + folder.name)
    number = 1
    while target.exists():
        number += 1
        target = folder.with_name(f"{INCOMPLETE_PREFIX}{folder.name}.{number}")
    folder.rename(target)
    logger.warning("checkpoint %s is incomplete (%s), probably from a run killed or out of disk while "
                   "saving; moved it to %s and resuming from an earlier checkpoint", folder, reason, target)
    return target


def last_complete_checkpoint(work_dir: Path) -> Path | None:
    """The newest complete checkpoint in ``work_dir`` (``None``: start afresh); every incomplete one is set
    aside (``set_aside``) so that neither the resume nor the Trainer's rotation meets it."""
    complete: Path | None = None
    for folder in checkpoints(work_dir):
        problem = checkpoint_problem(folder)
        if problem is not None:
            set_aside(folder, problem)
        elif complete is None:
            complete = folder
    return complete


def guard_checkpoint_saves(trainer: Trainer) -> Trainer:
    """Make a failure while the trainer writes a checkpoint (``OSError``, including a full disk, or a
    ``SafetensorError``) a ``TrainingSaveError`` naming the checkpoint folder.

    Wraps the Trainer's ``_save_checkpoint`` (transformers has no public hook around the save)."""
    from safetensors import SafetensorError

    save = trainer._save_checkpoint

    @functools.wraps(save)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        folder = Path(str(trainer.args.output_dir)) / f"checkpoint-{trainer.state.global_step}"
        try:
            return save(*args, **kwargs)
        except (OSError, SafetensorError) as exc:
            raise save_error(folder, exc) from exc

    setattr(trainer, "_save_checkpoint", guarded)  # noqa: B010 (mypy refuses assigning to a method)
    return trainer
