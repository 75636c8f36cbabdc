"""Retrying the start of a proof-assistant process that died while starting.

A coqtop or Lean REPL can die at start-up for reasons that pass (killed by a neighbour's OOM, a signal
during a machine's busiest second). Such a death is retried a bounded number of times with exponential
backoff (with jitter, so that many workers starting together do not retry in lockstep); anything else
(the program is missing, a theorem is refused, the process hangs) is raised at once, since trying again
would fail the same way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from search.backends.process import ProcessDied
from search.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")
GAVE_UP = "start_tries"  # set on an error after that many tries, so no outer retry starts again


def died_while_starting(error: BaseException) -> bool:
    """Whether ``error`` says the process died while it started: a ``BackendUnavailableError`` raised
    from a ``ProcessDied`` (a missing program or a hang is not retried), and not already retried to the
    end by an inner ``start_with_retries`` (nested starts do not multiply their tries)."""
    return (isinstance(error, BackendUnavailableError) and isinstance(error.__cause__, ProcessDied)
            and not hasattr(error, GAVE_UP))


def backoff_delays(attempts: int, backoff: float, *, cap: float = 5.0) -> list[float]:
    """Seconds to wait before the 2nd, 3rd ... of ``attempts`` tries: ``backoff`` doubling up to ``cap``,
    each scaled by a random factor in [0.5, 1] (jitter)."""
    return [min(cap, backoff * 2**i) * random.uniform(0.5, 1.0) for i in range(attempts - 1)]


def start_with_retries(start: Callable[[], T], *, attempts: int, backoff: float, what: str,
                       retry_if: Callable[[BaseException], bool] = died_while_starting) -> T:
    """Call ``start`` until it returns, at most ``attempts`` times in all, while its error passes
    ``retry_if``; sleeps ``backoff_delays`` in between. Raises the last error (or at once one that is not
    retried). ``what`` names the process in log messages."""
    delays = backoff_delays(attempts, backoff)
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except BaseException as error:
            if not retry_if(error):
                raise
            if attempt == attempts:
                setattr(error, GAVE_UP, attempts)
                raise
            delay = delays[attempt - 1]
            logger.warning("%s died while starting (try %d of %d): %s; retrying in %.2f s", what, attempt,
                           attempts, error, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
