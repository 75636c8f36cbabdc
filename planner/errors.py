"""Typed errors of the planner. They carry data; the CLI (or a sweep worker) turns them into a message at
one boundary. Plans the model gets wrong are not errors: they are fed back to it and recorded."""

from __future__ import annotations

from typing import Any

from search.errors import ProverError

BODY_EXCERPT_CHARS = 500


class PlannerError(ProverError):
    """Base of every error the planner raises on purpose."""


class PlannerEndpointError(PlannerError):
    """The chat endpoint failed or answered something unusable, after the allowed retries.

    ``status`` is the HTTP status (``None`` when no answer came: timeout, refused connection); ``body`` is at
    most ``BODY_EXCERPT_CHARS`` characters of the answer; ``attempts`` counts the requests made.
    """

    def __init__(self, reason: str, *, url: str, status: int | None = None, body: str = "",
                 attempts: int = 1) -> None:
        excerpt = body[:BODY_EXCERPT_CHARS]
        detail = f" (HTTP {status})" if status is not None else ""
        shown = f": {excerpt!r}" if excerpt else ""
        super().__init__(f"planner endpoint {url}{detail} after {attempts} attempt(s): {reason}{shown}")
        self.reason, self.url, self.status, self.body, self.attempts = reason, url, status, excerpt, attempts

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its data (it may cross a Ray process boundary).
        return (_rebuild_endpoint_error, (self.reason, self.url, self.status, self.body, self.attempts))


def _rebuild_endpoint_error(reason: str, url: str, status: int | None, body: str,
                            attempts: int) -> PlannerEndpointError:
    return PlannerEndpointError(reason, url=url, status=status, body=body, attempts=attempts)


class PlannerConfigError(PlannerError):
    """A setting the planner needs is missing (e.g. no model named by option or environment)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"planner: {reason}")
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlannerConfigError, (self.reason,))


class PlannerModelLoadError(PlannerError):
    """The local planner model or its tokenizer could not be loaded."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"cannot load planner model {model!r}: {reason}")
        self.model = model
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlannerModelLoadError, (self.model, self.reason))


class PlanningUnsupportedError(PlannerError):
    """The backend cannot check plans or open subgoals (only the Lean REPL backend and test doubles can)."""

    def __init__(self, backend: str) -> None:
        super().__init__(f"backend {backend!r} cannot check plans: planning needs the Lean REPL backend "
                         f"(--backend repl)")
        self.backend = backend

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlanningUnsupportedError, (self.backend,))
