"""Typed errors of the planner. They carry data; the CLI (or a sweep worker) turns them into a message at
one boundary. Plans the model gets wrong are not errors: they are fed back to it and recorded."""

from __future__ import annotations

from typing import Any

from planner.endpoint import EndpointError
from search.errors import ModelLoadError, ProverError


class PlannerError(ProverError):
    """Base of every error the planner raises on purpose."""


class PlannerEndpointError(PlannerError, EndpointError):
    """The chat endpoint failed or answered something unusable, after the allowed retries (the data is
    ``EndpointError``'s: ``url``, ``status``, ``body`` excerpt, ``attempts``)."""

    label = "planner endpoint"


class PlannerConfigError(PlannerError):
    """A setting the planner needs is missing (e.g. no model named by option or environment)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"planner: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlannerConfigError, (self.reason,))


class PlannerModelLoadError(PlannerError, ModelLoadError):
    """The local planner model or its tokenizer could not be loaded (``model``, ``reason``)."""

    role = "planner"


class PlanningUnsupportedError(PlannerError):
    """The backend cannot check plans or open subgoals (the Lean REPL and Coq backends, and test doubles,
    can)."""

    def __init__(self, backend: str) -> None:
        super().__init__(f"backend {backend!r} cannot check plans: planning needs the Lean REPL backend "
                         f"(--backend repl) or the Coq backend (--backend coq)")
        self.backend = backend

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlanningUnsupportedError, (self.backend,))
