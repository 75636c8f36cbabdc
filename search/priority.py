"""Node priorities: the score that orders the frontier of a best-first search, chosen by name.

``SearchConfig.priority`` names a function in this registry; the search calls it once for every new
state, and the open state with the highest score is expanded next. The default is BFS-Prover-V2's
length-normalised log-probability. A value or critic score plugs in without an engine edit:

    register_priority("critic", lambda path: critic_value(path.state.pp))
    SearchConfig(priority="critic")

A name of the form ``module:function`` is imported on first use, in whichever process asks for it, so a
priority defined in the user's own module also reaches a sweep's Ray workers (which never ran the
driver's ``register_priority``): ``SearchConfig(priority="my_critic:score")``.

A priority function must be deterministic in what it is given (``SearchGraph.check_invariants``
recomputes it) and return a finite float.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from search.errors import ProverError
from search.types import TacticState

DEFAULT_PRIORITY = "bfs-prover-v2"


@dataclass(frozen=True, slots=True)
class ScoredPath:
    """What a priority function sees of a node: its state and the first path that reached it."""

    state: TacticState
    depth: int  # 0 at the root
    logprob_sum: float  # sum of the tactics' mean-token log-probs along the path; 0 at the root
    alpha: float  # SearchConfig.alpha, the length-normalisation exponent


PriorityFunction = Callable[[ScoredPath], float]


class PriorityError(ProverError, ValueError):
    """A priority function that cannot be used: it does not import, takes other arguments than one
    ``ScoredPath``, raises, or returns no finite number. Every search would meet it, so a sweep stops."""


def node_priority(logprob_sum: float, depth: int, alpha: float) -> float:
    """BFS-Prover-V2's score: sum of mean-token log-probs on the path / depth^alpha (0 at the root)."""
    if depth == 0:
        return 0.0
    return logprob_sum / depth**alpha


def length_normalised(path: ScoredPath) -> float:
    """``bfs-prover-v2``: ``node_priority`` of the path."""
    return node_priority(path.logprob_sum, path.depth, path.alpha)


def breadth_first(path: ScoredPath) -> float:
    """``breadth-first``: shallowest state first, whatever the policy's scores (a baseline)."""
    return -float(path.depth)


_REGISTRY: dict[str, PriorityFunction] = {
    DEFAULT_PRIORITY: length_normalised,
    "breadth-first": breadth_first,
}


def register_priority(name: str, function: PriorityFunction, *, replace: bool = False) -> None:
    """Make ``function`` selectable as ``SearchConfig(priority=name)``. Raises ``ValueError`` for an empty
    name, or a taken one unless ``replace``."""
    if not name or name != name.strip():
        raise ValueError(f"a priority needs a non-empty name without surrounding spaces, got {name!r}")
    if name in _REGISTRY and not replace and _REGISTRY[name] is not function:
        raise ValueError(f"priority {name!r} is already registered (pass replace=True to replace it)")
    _REGISTRY[name] = function


def unregister_priority(name: str) -> None:
    """Remove a registered priority (the default cannot be removed)."""
    if name == DEFAULT_PRIORITY:
        raise ValueError(f"the default priority {DEFAULT_PRIORITY!r} cannot be removed")
    _REGISTRY.pop(name, None)


def priority_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def priority_function(name: str) -> PriorityFunction:
    """The function registered as ``name``, or imported from ``module:function`` (then registered);
    raises ``ValueError`` naming the registered ones, or why the import failed."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except Exception as exc:  # the user's module may fail in any way while it loads
            reason = f"{type(exc).__name__}: {exc}"
            raise PriorityError(f"priority {name!r} cannot be imported: {reason}") from None
        if not callable(function):
            raise PriorityError(f"priority {name!r} is not a function")
        _check_signature(name, function)
        _REGISTRY[name] = function
        return function
    raise PriorityError(f"unknown priority {name!r}; registered: {', '.join(priority_names())} "
                        "(or give module:function)")


def _check_signature(name: str, function: Callable[..., object]) -> None:
    """Raise ``PriorityError`` unless ``function`` can be called with one positional argument."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: its first call will tell
        return
    try:
        signature.bind(None)
    except TypeError as exc:
        raise PriorityError(f"priority {name!r} must take one argument (a search.ScoredPath), but "
                            f"{signature} does not: {exc}") from None
