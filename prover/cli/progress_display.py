"""What ``prover prove`` shows while it searches: a live line on a terminal, a status line every few
seconds in a log (``-v`` without a terminal), nothing with ``--quiet``.

The display is the search's observer (``search.progress``): the driver calls it after each answer, on
the search's thread, and it keeps the latest ``SearchProgress``. The live line is redrawn by rich on its
own thread from that frozen reading (the elapsed time keeps running between readings, e.g. while one
tactic runs for seconds); the search itself is never touched from there.

A planned proof runs one search after another (each subgoal's, the main goal's); its steps come through
``set_stage`` (``round 1 · subgoal 2/4 · 1/4 subgoals proved``), shown before the current search's line
and, in a log, printed as each step starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from search import BestFirstSearch, ProgressReader, SearchProgress

READ_EVERY_S = 0.2  # the search is read at most this often (a reading walks only the new states)


def _seconds(value: float) -> str:
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}:{seconds:02d}"


def status_line(progress: SearchProgress, elapsed: float | None = None) -> str:
    """One line: expansions, open states, goals closed, best score, depth, tactics/s, elapsed, budgets."""
    elapsed = progress.elapsed if elapsed is None else elapsed
    best = "-" if progress.best_score is None else f"{progress.best_score:.2f}"
    parts = [f"{progress.expansions} expanded", f"{progress.open_states} open", f"{progress.states} states",
             f"{progress.goals_closed} goals closed", f"best {best}", f"depth {progress.max_depth}",
             f"{progress.tactics_per_second:.1f} tactics/s", f"{progress.errors} errors",
             _seconds(elapsed)]
    left = []
    if progress.time_left is not None:
        left.append(_seconds(max(progress.time_left - (elapsed - progress.elapsed), 0.0)))
    if progress.expansions_left is not None:
        left.append(f"{progress.expansions_left} expansions")
    parts.append("left: " + (" and ".join(left) if left else "no budget"))
    return " · ".join(parts)


class ProgressDisplay:
    """The observer of one search; use it as a context manager around the search.

    ``mode``: ``"live"`` (a rich line redrawn in place), ``"lines"`` (a plain status line every
    ``interval`` seconds and one at the end), or ``"off"``. In lines mode a timer thread (``ticker``)
    prints the line when the search has said nothing for ``interval`` seconds (a tactic running for a
    minute still shows the clock going). ``clock`` is injectable for tests."""

    def __init__(self, console: Console, theorem: str, *, mode: str, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, ticker: bool = True) -> None:
        if mode not in ("live", "lines", "off"):
            raise ValueError(f"unknown progress mode {mode!r}")
        self.console = console
        self.theorem = theorem
        self.mode = mode
        self.interval = interval
        self.latest: SearchProgress | None = None
        self.stage: str | None = None
        self._clock = clock
        self._reader = ProgressReader()
        self._read_at = float("-inf")
        self._printed_at = clock()
        self._live: Live | None = None
        self._search: BestFirstSearch | None = None
        self._spinner = Spinner("dots")
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._use_ticker = ticker

    def __call__(self, search: BestFirstSearch) -> None:
        if self.mode == "off":
            return
        if search is not self._search:  # another search (e.g. the next subgoal's): read it afresh
            self._reader = ProgressReader()
            self._search = search
        now = self._clock()
        if now - self._read_at < READ_EVERY_S and not search.done:
            return
        self._read_at = now
        self.latest = self._reader.read(search)
        if self.mode == "lines":
            with self._lock:
                if now - self._printed_at >= self.interval:
                    self._printed_at = now
                    self._print()

    def set_stage(self, stage: str) -> None:
        """The attempt moved on to ``stage`` (a planned proof's next subgoal, say): it heads the line
        from now on, and the next search is read afresh. In lines mode the step is printed at once."""
        self.stage = stage
        self.latest = None
        self._search = None
        if self.mode == "lines":
            with self._lock:
                self._printed_at = self._clock()
                self._print()

    def _tick(self) -> None:
        """The timer thread of lines mode: the line, with the time run on, after ``interval`` of silence."""
        while not self._stop.wait(self.interval / 4):
            with self._lock:
                now = self._clock()
                if self.latest is None or now - self._printed_at < self.interval:
                    continue
                self._printed_at = now
                line = self._line(self.latest.elapsed + (now - self._read_at))
                if line is not None:
                    self.console.print(Text(line), highlight=False, soft_wrap=True)

    def _line(self, elapsed: float | None = None) -> str | None:
        """The status text: the stage (if any), then the latest reading (``None``: nothing to say yet)."""
        parts = [part for part in (self.stage, self.latest and status_line(self.latest, elapsed)) if part]
        return f"{self.theorem}: {' · '.join(parts)}" if parts else None

    def _print(self) -> None:
        line = self._line()
        if line is not None:
            self.console.print(Text(line), highlight=False, soft_wrap=True)

    def __rich__(self) -> Table:
        """The live line (rich calls it on every refresh)."""
        grid = Table.grid(padding=(0, 1))
        running = None if self.latest is None else self.latest.elapsed + (self._clock() - self._read_at)
        line = self._line(running)
        if self.latest is None:
            line = f"{line} ..." if line else f"searching for a proof of {self.theorem} ..."
        grid.add_row(self._spinner, Text(line or ""))
        return grid

    def __enter__(self) -> ProgressDisplay:
        if self.mode == "live":
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        if self.mode == "lines" and self._use_ticker:
            self._ticker = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        if self._live is not None:
            self._live.__exit__(*exc_info)
            self._live = None
        if self._search is not None:  # the search has stopped: read its final state (on this thread)
            self.latest = self._reader.read(self._search)
        if self.mode == "lines" and exc_info[0] is None:
            self._print()
