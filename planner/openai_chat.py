"""The planner behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (any hosted or local model).

Request: ``model``, ``messages``, ``temperature``, ``top_p``, ``max_tokens``, ``n=1``, ``stream=false`` (and
``seed`` when set). Answer: ``choices[0].message.content``; a reasoning model's separate
``reasoning_content`` is ignored, and a ``null`` content is an empty answer. ``finish_reason == "length"``
(the answer was cut off) is logged and marked on the answer: the plan may have lost its last line.

Failures: 429, 408 and 5xx answers, timeouts and connection errors are retried with exponential backoff
and jitter (``Retry-After`` honoured, capped at ``max_backoff_s``) at most ``max_retries`` times; then, or
at once for any other status or a malformed answer, ``PlannerEndpointError`` is raised with the URL, the
status, an excerpt of the body and the number of attempts.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from planner.client import ChatAnswer, ChatMessage
from planner.config import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, MODEL_ENV, PlannerClientConfig
from planner.endpoint import BODY_EXCERPT_CHARS, JsonEndpoint, RetryPolicy
from planner.errors import PlannerConfigError, PlannerEndpointError

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
        self._owns_client = client is None
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._endpoint = JsonEndpoint(
            self.url, client=self._client, error=PlannerEndpointError, sleep=sleep,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            retry=RetryPolicy(config.max_retries, config.backoff_s, config.max_backoff_s))

    @property
    def requests(self) -> int:
        """HTTP requests sent, retries included."""
        return self._endpoint.requests

    def check_reachable(self) -> None:
        """Fail fast (``PlannerEndpointError``) when the endpoint cannot be reached or refuses the key:
        one ``GET /models`` (no generation). Any other answer passes, since not every server lists its
        models. Drivers call it before a long run that would otherwise fail theorem by theorem."""
        url = self.url.removesuffix("/chat/completions") + "/models"
        try:
            response = self._client.get(url, headers=self._endpoint.headers,
                                        timeout=self.config.connect_timeout_s + 5)
        except httpx.TransportError as exc:
            raise PlannerEndpointError(f"cannot reach it: {exc!r}", url=url) from None
        if response.status_code in (401, 403):
            raise PlannerEndpointError("the API key was refused (--planner-api-key, $PLANNER_API_KEY)",
                                       url=url, status=response.status_code, body=response.text)

    def complete(self, messages: Sequence[ChatMessage], *, timeout: float | None = None) -> ChatAnswer:
        """The assistant's answer to ``messages``, within ``timeout`` seconds in all when given. Raises
        ``PlannerEndpointError``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        data, attempts = self._endpoint.post(self._payload(messages), deadline=deadline)
        try:
            text, finish = parse_chat_answer(data)
        except ValueError as exc:
            raise PlannerEndpointError(f"unexpected answer: {exc}", url=self.url, status=200,
                                       body=_excerpt(data), attempts=attempts) from exc
        if finish == "length":
            logger.warning("the planner's answer was cut off at max_tokens=%d", self.config.max_tokens)
        return ChatAnswer(text, cut_off=finish == "length")

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


def _excerpt(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)[:BODY_EXCERPT_CHARS]
