"""POST JSON to an OpenAI-compatible endpoint with bounded retries: the one HTTP loop that the planner's
chat client and the step prover's completions client share.

429, 408 and 5xx answers, timeouts and connection errors are retried with exponential backoff and jitter
(``Retry-After`` honoured, capped at ``max_backoff_s``) at most ``max_retries`` times; then, or at once for
any other status or malformed JSON, the caller's ``EndpointError`` subclass is raised with the URL, the
status, an excerpt of the body and the number of attempts.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from search.errors import ProverError

logger = logging.getLogger(__name__)

BODY_EXCERPT_CHARS = 500


class EndpointError(ProverError):
    """An endpoint failed or answered something unusable. ``status`` is the HTTP status (``None`` when no
    answer came); ``body`` is at most ``BODY_EXCERPT_CHARS`` characters; ``attempts`` counts requests."""

    label = "endpoint"

    def __init__(self, reason: str, *, url: str, status: int | None = None, body: str = "",
                 attempts: int = 1) -> None:
        excerpt = body[:BODY_EXCERPT_CHARS]
        detail = f" (HTTP {status})" if status is not None else ""
        shown = f": {excerpt!r}" if excerpt else ""
        super().__init__(f"{self.label} {url}{detail} after {attempts} attempt(s): {reason}{shown}")
        self.reason, self.url, self.status, self.body, self.attempts = reason, url, status, excerpt, attempts

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its data: it may cross a Ray process boundary
        return (_rebuild, (type(self), self.reason, self.url, self.status, self.body, self.attempts))


def _rebuild(cls: type[EndpointError], reason: str, url: str, status: int | None, body: str,
             attempts: int) -> EndpointError:
    return cls(reason, url=url, status=status, body=body, attempts=attempts)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff_s: float
    max_backoff_s: float


def backoff_problems(config: Any) -> list[str]:
    """The rule tying a config's retry delays together (``backoff_s`` <= ``max_backoff_s``), for its
    ``cross_checks``; each field's own bounds are in its metadata."""
    if config.backoff_s <= config.max_backoff_s:
        return []
    return [f"need 0 <= backoff_s <= max_backoff_s, got {config.backoff_s}, {config.max_backoff_s}"]


class JsonEndpoint:
    """One URL, its headers, an ``httpx.Client`` and a retry policy. ``sleep`` is injectable for tests."""

    def __init__(self, url: str, *, client: httpx.Client, headers: Mapping[str, str], retry: RetryPolicy,
                 error: type[EndpointError], sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url
        self._client = client
        self.headers = dict(headers)
        self._retry = retry
        self._error = error
        self._sleep = sleep
        self.requests = 0  # HTTP requests sent, retries included

    def post(self, payload: dict[str, Any], *, deadline: float | None = None) -> tuple[Any, int]:
        """The decoded JSON answer and the number of attempts; raises the ``error`` class given.
        ``deadline`` (``time.monotonic()``) bounds the whole call, retries and their waits included: each
        request gets at most the time left, and no retry starts past it."""
        attempt = 0
        while True:
            attempt += 1
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            response, failure = self._attempt(payload, attempt, left)
            if failure is None:
                assert response is not None
                return self._decode(response, attempt), attempt
            retryable = response is None or _retryable(response.status_code)
            if not retryable or attempt > self._retry.max_retries:
                raise failure
            delay = self._delay(attempt, response)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise failure  # no time left for another try
            logger.warning("%s; retrying in %.2f s", failure, delay,
                           extra={"retry_endpoint": self.url, "retry_error": _what_failed(failure)})
            self._sleep(delay)

    def _attempt(self, payload: dict[str, Any], attempt: int,
                 left: float | None = None) -> tuple[httpx.Response | None, EndpointError | None]:
        """One request (within ``left`` seconds, when given, besides the client's own timeouts):
        ``(response, None)`` on 200, else the response (if any) and the error to raise."""
        self.requests += 1
        try:
            limit = httpx.USE_CLIENT_DEFAULT if left is None else _shorter(self._client.timeout, left)
            response = self._client.post(self.url, json=payload, headers=self.headers, timeout=limit)
        except httpx.TimeoutException as exc:
            return None, self._error(f"timed out ({type(exc).__name__})", url=self.url, attempts=attempt)
        except httpx.TransportError as exc:
            return None, self._error(f"connection failed: {exc!r}", url=self.url, attempts=attempt)
        if response.status_code == 200:
            return response, None
        reason = "rate limited" if response.status_code == 429 else "request failed"
        return response, self._error(reason, url=self.url, status=response.status_code, body=response.text,
                                     attempts=attempt)

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Exponential backoff with jitter, at least the server's ``Retry-After`` seconds; capped."""
        delay = self._retry.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own delay
                delay = max(delay, float(retry_after))
        return min(delay, self._retry.max_backoff_s)

    def _decode(self, response: httpx.Response, attempts: int) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._error(f"malformed JSON: {exc}", url=self.url, status=response.status_code,
                              body=response.text, attempts=attempts) from exc


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _what_failed(failure: EndpointError) -> str:
    """One attempt's failure for the retry summary: the reason and status, without the attempt count
    (the summary counts the retries itself)."""
    return failure.reason + (f" (HTTP {failure.status})" if failure.status is not None else "")


def _shorter(timeout: httpx.Timeout, left: float) -> httpx.Timeout:
    """``timeout`` with no phase longer than ``left`` seconds."""
    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)
    return httpx.Timeout(connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write),
                         pool=cut(timeout.pool))
