"""The planner behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (any hosted or local model).

Request: ``model``, ``messages``, ``temperature``, ``top_p``, ``max_tokens``, ``n=1``, ``stream=false`` (and
``seed`` when set). Answer: ``choices[0].message.content``; a reasoning model's separate
``reasoning_content`` is ignored, and a ``null`` content is an empty answer. ``finish_reason == "length"``
(the answer was cut off) is logged: the plan may lose its last line.

Failures: 429, 408 and 5xx answers, timeouts and connection errors are retried with exponential backoff
and jitter (``Retry-After`` honoured, capped at ``max_backoff_s``) at most ``max_retries`` times; then, or
at once for any other status or a malformed answer, ``PlannerEndpointError`` is raised with the URL, the
status, an excerpt of the body and the number of attempts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from planner.client import ChatMessage
from planner.config import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, MODEL_ENV, PlannerClientConfig
from planner.errors import BODY_EXCERPT_CHARS, PlannerConfigError, PlannerEndpointError

logger = logging.getLogger(__name__)


def _first_env(names: Sequence[str]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


class OpenAIChatPlanner:
    """A ``PlannerClient`` over HTTP. Model, URL and key come from the config, else the environment (read
    here, once). Pass ``client`` to reuse an ``httpx.Client`` (its timeouts then apply); ``close()`` closes
    only a client this planner created. ``sleep`` is injectable so tests need not wait.

    Raises ``PlannerConfigError`` when neither the config nor ``$PLANNER_MODEL`` names a model.
    """

    def __init__(self, config: PlannerClientConfig, *, client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        model = config.model or os.environ.get(MODEL_ENV)
        if not model:
            raise PlannerConfigError(f"no planner model: give --planner-model or set ${MODEL_ENV}")
        self.model = model
        base = config.base_url or _first_env(BASE_URL_ENV) or DEFAULT_BASE_URL
        self.url = base.rstrip("/") + "/chat/completions"
        key = config.api_key if config.api_key is not None else (_first_env(API_KEY_ENV) or "")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._owns_client = client is None
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep
        self.requests = 0  # HTTP requests sent, retries included

    def complete(self, messages: Sequence[ChatMessage]) -> str:
        """The assistant's answer to ``messages``. Raises ``PlannerEndpointError``."""
        data, attempts = self._post(self._payload(messages))
        try:
            text, finish = parse_chat_answer(data)
        except ValueError as exc:
            raise PlannerEndpointError(f"unexpected answer: {exc}", url=self.url, status=200,
                                       body=_excerpt(data), attempts=attempts) from exc
        if finish == "length":
            logger.warning("the planner's answer was cut off at max_tokens=%d", self.config.max_tokens)
        return text

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAIChatPlanner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _payload(self, messages: Sequence[ChatMessage]) -> dict[str, Any]:
        c = self.config
        payload: dict[str, Any] = {
            "model": self.model, "messages": [m.as_dict() for m in messages], "temperature": c.temperature,
            "top_p": c.top_p, "max_tokens": c.max_tokens, "n": 1, "stream": False,
        }
        if c.seed is not None:
            payload["seed"] = c.seed
        return payload

    def _post(self, payload: dict[str, Any]) -> tuple[Any, int]:
        """POST with bounded retries; the decoded JSON answer and the number of attempts."""
        attempt = 0
        while True:
            attempt += 1
            response, failure = self._attempt(payload, attempt)
            if failure is None:
                assert response is not None
                return _decode(response, self.url, attempt), attempt
            retryable = response is None or _retryable(response.status_code)
            if not retryable or attempt > self.config.max_retries:
                raise failure
            delay = self._delay(attempt, response)
            logger.warning("%s; retrying in %.2f s", failure, delay)
            self._sleep(delay)

    def _attempt(self, payload: dict[str, Any],
                 attempt: int) -> tuple[httpx.Response | None, PlannerEndpointError | None]:
        """One request: ``(response, None)`` on 200, else the response (if any) and the error to raise."""
        self.requests += 1
        try:
            response = self._client.post(self.url, json=payload, headers=self._headers)
        except httpx.TimeoutException as exc:
            return None, PlannerEndpointError(f"timed out ({type(exc).__name__})", url=self.url,
                                              attempts=attempt)
        except httpx.TransportError as exc:
            return None, PlannerEndpointError(f"connection failed: {exc!r}", url=self.url, attempts=attempt)
        if response.status_code == 200:
            return response, None
        reason = "rate limited" if response.status_code == 429 else "request failed"
        return response, PlannerEndpointError(reason, url=self.url, status=response.status_code,
                                              body=response.text, attempts=attempt)

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Exponential backoff with jitter, at least the server's ``Retry-After`` seconds; capped."""
        c = self.config
        delay = c.backoff_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own delay
                delay = max(delay, float(retry_after))
        return min(delay, c.max_backoff_s)


def parse_chat_answer(data: Any) -> tuple[str, str | None]:
    """``(content, finish_reason)`` of the first choice. A ``null`` content is ``""``. Raises
    ``ValueError`` for an answer without a ``choices`` list or a message."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ValueError("no 'choices' list")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ValueError("the first choice has no 'message'")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ValueError(f"the message content is a {type(content).__name__}, not a string")
    finish = choice.get("finish_reason")
    return content or "", finish if isinstance(finish, str) else None


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _excerpt(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)[:BODY_EXCERPT_CHARS]


def _decode(response: httpx.Response, url: str, attempts: int) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise PlannerEndpointError(f"malformed JSON: {exc}", url=url, status=response.status_code,
                                   body=response.text, attempts=attempts) from exc
