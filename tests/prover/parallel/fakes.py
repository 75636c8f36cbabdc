"""Cheap deterministic policies for the batching and policy-server tests (fixtures, not tests).

Loaded by ``conftest.py`` by file path and registered with Ray's cloudpickle *by value*, so actors can
unpickle these classes without ``tests/`` being importable in Ray's worker processes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from search.types import Candidate


def expected(state: str, n: int) -> list[Candidate]:
    """What ``EchoPolicy`` answers for ``state``: ``n`` tactics naming the state, best first."""
    return [Candidate(f"{state}|t{j}", -0.1 * (j + 1)) for j in range(n)]


class EchoPolicy:
    """Answers ``expected(state, n)`` per state; raises ``ValueError`` when a state contains ``fail_on``."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        if self.fail_on is not None and any(self.fail_on in s for s in states):
            raise ValueError(f"refused a batch containing {self.fail_on!r}")
        return [expected(s, n) for s in states]


class RecordingPolicy(EchoPolicy):
    """``EchoPolicy`` that records each call ``(states, n)``; with ``gate``, each call first waits for it.

    ``entered`` is set when a call starts, so a test can hold the first batch open while others queue.
    """

    def __init__(
        self, *, gate: threading.Event | None = None, fail_on: str | None = None, wrong_length: bool = False
    ) -> None:
        super().__init__(fail_on)
        self.calls: list[tuple[tuple[str, ...], int]] = []
        self.gate = gate
        self.entered = threading.Event()
        self.wrong_length = wrong_length

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.calls.append((tuple(states), n))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        results = super().propose(states, n)
        return results[:-1] if self.wrong_length else results


class TemperaturePolicy:
    """Names its temperature in each tactic (``state@T``); attempt k samples at the ``schedule``'s
    temperature (as ``prover.policies.attempt_sampling`` reads one), attempts at one temperature share one
    policy. With ``gate``, a call at temperature ``hold`` waits for it (``entered`` says it started)."""

    def __init__(self, temperature: float = 1.0, schedule: tuple[float, ...] = (),
                 gate: threading.Event | None = None, hold: float | None = None) -> None:
        self.temperature, self.schedule = temperature, schedule
        self.gate, self.hold = gate, hold
        self.others: dict[float, TemperaturePolicy] = {}
        self.calls: list[tuple[str, ...]] = []
        self.entered = threading.Event()

    def for_attempt(self, attempt: int) -> TemperaturePolicy:
        temperature = self.schedule[min(attempt - 2, len(self.schedule) - 1)] \
            if attempt > 1 and self.schedule else self.temperature
        if temperature == self.temperature:
            return self
        if temperature not in self.others:
            self.others[temperature] = TemperaturePolicy(temperature, gate=self.gate, hold=self.hold)
        return self.others[temperature]

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.calls.append(tuple(states))
        self.entered.set()
        if self.gate is not None and self.temperature == self.hold:
            assert self.gate.wait(10), "test gate never opened"
        return [[Candidate(f"{state}@{self.temperature}", -0.1)] for state in states]


class InterruptingPolicy(EchoPolicy):
    """``EchoPolicy`` that raises ``error`` (a ``BaseException``, e.g. ``KeyboardInterrupt``) for a batch
    containing ``interrupt_on``; with ``gate``, each call first waits for it (``entered``: a call started)."""

    def __init__(self, error: BaseException, interrupt_on: str, *,
                 gate: threading.Event | None = None) -> None:
        super().__init__()
        self.error, self.interrupt_on, self.gate = error, interrupt_on, gate
        self.entered = threading.Event()

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        if any(self.interrupt_on in s for s in states):
            raise self.error
        return super().propose(states, n)


class SleepingPolicy(EchoPolicy):
    """``EchoPolicy`` whose every call first sleeps ``seconds``: a wedged model, as a server sees it."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        import time

        time.sleep(self.seconds)
        return super().propose(states, n)
