"""How the attempts of pass@N (``sweep --attempts``) sample differently from one another.

Attempt ``k`` (1-based) of a sampling policy uses its own seed, ``seed + k - 1`` when the policy has a seed
(so attempt 2 run first in a fresh worker is no replay of attempt 1), and, with a temperature schedule, its
own temperature: ``attempt_temperatures`` lists the temperatures of attempts 2, 3, ...; attempt 1 samples at
the policy's ``temperature`` and attempts past the list's end at its last value. Both the transformers
policy and the completions-endpoint policy read their settings through ``attempt_temperature`` and
``attempt_seed``; their ``for_attempt`` builds the attempt's policy from them, whose fingerprint then names
what it samples with.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Protocol, TypeVar

SCHEDULE_HELP = ("sampling temperatures of attempts 2, 3, ... of pass@N (sweep --attempts); later attempts "
                 "repeat the last; empty: every attempt at temperature")


def attempt_temperature(temperature: float, schedule: Sequence[float], attempt: int) -> float:
    """The temperature of attempt ``attempt``: ``temperature`` for the first, then the schedule's."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    if attempt == 1 or not schedule:
        return temperature
    return schedule[min(attempt - 2, len(schedule) - 1)]


SEED_LIMIT = 2**63  # seeds are below it: torch.Generator.manual_seed takes a signed 64-bit number


def attempt_seed(seed: int | None, attempt: int) -> int | None:
    """The seed of attempt ``attempt``: ``seed + attempt - 1`` (wrapped into ``SEED_LIMIT``, which torch's
    generator takes), or ``None`` without a seed."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    return None if seed is None else (seed + attempt - 1) % SEED_LIMIT


class _Sampled(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def temperature(self) -> float: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def attempt_temperatures(self) -> tuple[float, ...]: ...


_Config = TypeVar("_Config", bound=_Sampled)


def config_for_attempt(config: _Config, attempt: int) -> _Config:
    """``config`` with the temperature and seed of attempt ``attempt``; itself where they do not change
    (attempt 1, or no seed and no schedule), so attempt 1's policy is the configured one."""
    temperature = attempt_temperature(config.temperature, config.attempt_temperatures, attempt)
    seed = attempt_seed(config.seed, attempt)
    if (temperature, seed) == (config.temperature, config.seed):
        return config
    return replace(config, temperature=temperature, seed=seed)


def schedule_check(*, greedy_allowed: bool) -> Callable[[tuple[float, ...]], str | None]:
    """The rule of a temperature schedule: finite temperatures > 0 (>= 0 where greedy decoding is one)."""
    bound = ">= 0" if greedy_allowed else "> 0"

    def check(schedule: tuple[float, ...]) -> str | None:
        bad = [t for t in schedule if not math.isfinite(t) or t < 0 or (t == 0 and not greedy_allowed)]
        return f"attempt_temperatures must be finite and {bound}, got {bad}" if bad else None

    return check
