"""The start-retry helper: which errors are retried, how often, and how long it waits."""

from __future__ import annotations

import pytest

from search.backends import start_retry
from search.backends.process import ProcessDied, ProcessTimeout
from search.backends.start_retry import backoff_delays, died_while_starting, start_with_retries
from search.errors import BackendUnavailableError, InvalidTheoremError


def died() -> BackendUnavailableError:
    try:
        raise BackendUnavailableError("coq", "coqtop died at start") from ProcessDied("coqtop", -9, "")
    except BackendUnavailableError as error:
        return error


class Flaky:
    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = errors
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "started"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(start_retry.time, "sleep", slept.append)
    return slept


def test_deaths_at_start_are_retried_with_growing_waits(no_sleep: list[float]) -> None:
    start = Flaky([died(), died(), died()])
    assert start_with_retries(start, attempts=4, backoff=0.2, what="coqtop") == "started"
    assert start.calls == 4
    assert len(no_sleep) == 3
    for i, delay in enumerate(no_sleep):
        assert 0.1 * 2**i <= delay <= 0.2 * 2**i


def test_the_last_death_is_raised_after_the_allowed_attempts(no_sleep: list[float]) -> None:
    last = died()
    start = Flaky([died(), died(), last])
    with pytest.raises(BackendUnavailableError) as caught:
        start_with_retries(start, attempts=3, backoff=0.1, what="coqtop")
    assert caught.value is last and start.calls == 3 and len(no_sleep) == 2


@pytest.mark.parametrize("error", [
    BackendUnavailableError("coq", "coqtop not found"),
    InvalidTheoremError("t", "refused"),
    ProcessTimeout("coqtop", 60),
])
def test_other_errors_are_raised_at_once(error: BaseException, no_sleep: list[float]) -> None:
    start = Flaky([error])
    with pytest.raises(type(error)):
        start_with_retries(start, attempts=5, backoff=0.1, what="coqtop")
    assert start.calls == 1 and no_sleep == []


def test_a_hang_at_start_is_not_a_death() -> None:
    try:
        raise BackendUnavailableError("coq", "no prompt") from ProcessTimeout("coqtop", 60)
    except BackendUnavailableError as error:
        assert not died_while_starting(error)
    assert died_while_starting(died())


def test_backoff_is_capped() -> None:
    assert all(d <= 5.0 for d in backoff_delays(12, 1.0))
    assert backoff_delays(1, 1.0) == []


def test_nested_retries_do_not_multiply(no_sleep: list[float]) -> None:
    inner = Flaky([died() for _ in range(10)])

    def outer_start() -> str:
        return start_with_retries(inner, attempts=3, backoff=0.1, what="coqtop")

    with pytest.raises(BackendUnavailableError) as caught:
        start_with_retries(outer_start, attempts=3, backoff=0.1, what="session")
    assert inner.calls == 3 and caught.value.start_tries == 3
