"""A wall-clock budget for a transformers/TRL training run: ``TrainConfig.max_seconds``.

transformers' ``Trainer`` stops on steps or epochs only; a fixed-time run (a short CPU run, a GPU run sized
to a lent machine's minutes) needs a callback that asks the trainer to stop (``should_training_stop``) once
the budget is spent. The clock starts when the training loop starts (``on_train_begin``), so loading the
model and tokenising the data do not count, and is checked after each optimiser step: the step running when
the budget ends is finished, so a run can overshoot it by one step (and the final save).

This module imports transformers; ``training`` imports it inside its functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TimeBudget(TrainerCallback):
    """Stops training after the first optimiser step that ends ``seconds`` or more after training began.

    ``stopped_at_step``: the global step it stopped at, ``None`` while it has not stopped the run (also when
    the run ended on its own first). ``clock`` is injectable for tests."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not seconds > 0:
            raise ValueError(f"a time budget must be > 0 seconds, got {seconds!r}")
        self.seconds = seconds
        self.clock = clock
        self.started: float | None = None
        self.stopped_at_step: int | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = self.clock()
        self.stopped_at_step = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.started is None or control.should_training_stop:
            return
        elapsed = self.clock() - self.started
        if elapsed >= self.seconds:
            control.should_training_stop = True
            self.stopped_at_step = int(state.global_step)
            logger.info("time budget of %.0f s spent after %.1f s: training stops at step %d",
                        self.seconds, elapsed, state.global_step)
