"""The step prover behind an OpenAI-compatible ``/v1/completions`` endpoint (a vLLM or SGLang server).

Protocol semantics relied on (OpenAI legacy completions API, as vLLM and SGLang implement it):

- ``prompt`` may be a list of strings; with ``n`` samples per prompt the response holds ``len(prompt) * n``
  choices and ``choices[k].index == prompt_index * n + j`` (vLLM builds the list prompt by prompt, sample by
  sample, and numbers it with ``index=len(choices)``). Choices are mapped back by ``index``, not by their
  position in the list, so a server that reorders them is still read right.
- ``logprobs=1`` makes each choice carry ``logprobs.token_logprobs``: the log-probability of each generated
  token (``null`` where there is none, e.g. for the first token of an echoed prompt; those are skipped). A
  tactic's score is their mean, like ``HFPolicy``'s. vLLM's V1 engine reports the model's raw
  log-probabilities by default (``logprobs_mode=raw_logprobs``: before temperature and top-p), so scores
  do not depend on the sampler's settings; servers that report processed ones make scores
  temperature-dependent. The EOS token that ended a tactic is part of the generated tokens and is scored.
- ``text`` excludes the prompt (``echo`` false) and, for vLLM, a matched stop string.

Failures: 429, 408 and 5xx answers, timeouts and connection errors are retried with exponential backoff
(``Retry-After`` honoured) at most ``max_retries`` times; then, or at once for any other status or a
malformed answer, ``PolicyEndpointError`` is raised carrying the URL, status and an excerpt of the body.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from planner.endpoint import (
    BODY_EXCERPT_CHARS,
    EndpointError,
    JsonEndpoint,
    RetryPolicy,
    backoff_problems,
)
from prover.policies.attempt_sampling import SCHEDULE_HELP, SEED_LIMIT, config_for_attempt, schedule_check
from prover.policies.step_prompt import step_prompt
from search.policy_identity import AttemptStream, settings_digest
from search.protocols import Policy
from search.types import Candidate
from search.validation import MAX_SECONDS, Validated, setting

logger = logging.getLogger(__name__)

API_KEY_ENV = "OPENAI_API_KEY"


# a server's refusal of a prompt longer than the model's context (vLLM, SGLang, OpenAI wordings)
_TOO_LONG = re.compile(r"context length|context window|too long|maximum context", re.IGNORECASE)
_CONTEXT = re.compile(r"(?:maximum )?context (?:length|window) (?:is|of) (\d+)", re.IGNORECASE)


class PolicyEndpointError(EndpointError):
    """The completions endpoint failed or answered something unusable (after the allowed retries)."""

    label = "completions endpoint"


@dataclass(frozen=True, kw_only=True)
class OpenAIPolicyConfig(Validated):
    """Validated settings of the completions-endpoint step prover. Sampling defaults follow BFS-Prover-V2."""

    config_name = "OpenAI policy configuration"

    base_url: str = setting(
        "http://localhost:8000/v1", pattern=(r"https?://.*", "a URL starting with http:// or https://"),
        help="server URL up to and including /v1; requests go to {base_url}/completions")
    model: str = setting(
        "ByteDance-Seed/BFS-Prover-V2-7B", nonblank=True, help="model name the server serves")
    api_key: str | None = setting(
        None, repr=False,
        help=f"bearer token; none: ${API_KEY_ENV} read when the policy is built; '' sends none")
    temperature: float = setting(1.3, min=0, help="sampling temperature (>= 0)")
    top_p: float = setting(1.0, above=0, max=1, help="nucleus sampling mass in (0, 1]; 1 disables it")
    max_tokens: int = setting(128, min=1, help="longest tactic, in tokens")
    stop: tuple[str, ...] = setting(
        (), nonempty=True, help="stop sequences (besides EOS) that end a tactic; not part of it")
    seed: int | None = setting(
        None, min=0, max=SEED_LIMIT - 1,
        help="sampling seed sent with each request; attempt k of pass@N sends seed + k - 1")
    attempt_temperatures: tuple[float, ...] = setting(
        (), check=schedule_check(greedy_allowed=True), help=SCHEDULE_HELP)
    states_per_request: int = setting(
        32, min=1, help="most states (prompts) per HTTP request; more states: more requests")
    parallel_requests: int = setting(4, min=1, help="HTTP requests of one propose call in flight at once")
    timeout_s: float = setting(120.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for an answer (per attempt)")
    connect_timeout_s: float = setting(10.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for a connection")
    max_retries: int = setting(
        3, min=0, help="retries after a 429/408/5xx answer, a timeout or a connection error")
    backoff_s: float = setting(
        0.5, min=0, max=MAX_SECONDS, help="first retry delay in seconds; doubles each retry (with jitter)")
    max_backoff_s: float = setting(16.0, min=0, max=MAX_SECONDS, help="longest retry delay in seconds")

    @property
    def fingerprint(self) -> str:
        """Names the endpoint's model and every setting that changes what it samples, for a proof cache's
        failures (``search.policy_identity``)."""
        fields = ("base_url", "model", "temperature", "top_p", "max_tokens", "stop", "seed",
                  "attempt_temperatures")
        return settings_digest("completions", {name: getattr(self, name) for name in fields})

    def for_attempt(self, attempt: int) -> OpenAIPolicyConfig:
        """The settings attempt ``attempt`` of pass@N samples with (``prover.policies.attempt_sampling``):
        this config for the first, else its temperature and seed."""
        return config_for_attempt(self, attempt)

    def cross_checks(self) -> list[str]:
        return backoff_problems(self)


class OpenAICompletionsPolicy:
    """A ``search.protocols.Policy`` that samples tactics from a completions endpoint.

    ``propose(states, n)`` sends the prompts ``"{state}:::"`` in requests of ``states_per_request``
    (``parallel_requests`` at a time), asks ``n`` samples per prompt, and returns per state the distinct
    non-empty tactics (stripped), each with its best mean token log-probability, best first. Raises
    ``PolicyEndpointError`` (see the module docstring) and ``ValueError`` for ``n < 0``. The API key is read
    here, once. Pass ``client`` to reuse an ``httpx.Client`` (its timeouts then apply); ``close()`` closes
    only a client this policy created.
    """

    def __init__(self, config: OpenAIPolicyConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        key = config.api_key if config.api_key is not None else os.environ.get(API_KEY_ENV, "")
        self._owns_client = client is None
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._endpoint = JsonEndpoint(
            config.base_url.rstrip("/") + "/completions", client=self._client, error=PolicyEndpointError,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            retry=RetryPolicy(config.max_retries, config.backoff_s, config.max_backoff_s))
        self._pool = ThreadPoolExecutor(config.parallel_requests, thread_name_prefix="completions")
        self._attempts: dict[OpenAIPolicyConfig, OpenAICompletionsPolicy] = {}  # by the attempt's settings

    @property
    def fingerprint(self) -> str:
        return self.config.fingerprint

    def for_attempt(self, attempt: int) -> Policy:
        """The policy of attempt ``attempt`` of a theorem (pass@N), sampling with the attempt's settings
        (``OpenAIPolicyConfig.for_attempt``: seed + k - 1, the temperature schedule); attempt 1 is this
        policy, later ones share its HTTP client and close with it. Greedy decoding (temperature 0) and a
        seeded one are the same every time their settings are, so the fingerprint of those settings names
        them; otherwise the endpoint's own randomness makes attempts differ and the fingerprint names the
        attempt."""
        config = self.config.for_attempt(attempt)
        policy = self
        if config != self.config:
            if config not in self._attempts:
                self._attempts[config] = OpenAICompletionsPolicy(config, client=self._client)
            policy = self._attempts[config]
        if config.temperature == 0 or config.seed is not None:
            return policy
        return AttemptStream(policy, policy.fingerprint, attempt)

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        """Per state, in order: at most ``n`` distinct tactics sorted by descending mean token logprob."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0 or not states:
            return [[] for _ in states]
        size = self.config.states_per_request
        chunks = [list(states[i : i + size]) for i in range(0, len(states), size)]
        if len(chunks) == 1:
            return self._propose_chunk(chunks[0], n)
        return [
            result
            for part in self._pool.map(self._propose_chunk, chunks, [n] * len(chunks))
            for result in part
        ]

    def close(self) -> None:
        """Release the worker threads and the HTTP client (if this policy created it); idempotent."""
        attempts, self._attempts = list(self._attempts.values()), {}
        for policy in attempts:
            policy.close()
        self._pool.shutdown(wait=True)
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAICompletionsPolicy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _propose_chunk(self, states: list[str], n: int) -> list[list[Candidate]]:
        """The request's candidates; a prompt the server refuses as too long for the context gets none (and
        a warning), as a local model's over-budget prompt does, unless every prompt of the request is."""
        try:
            return self._post(states, n)
        except PolicyEndpointError as exc:
            if not self._refused_as_too_long(exc):
                raise
            refused = exc
        found: list[list[Candidate] | None] = [None]  # one state: it is the one refused
        if len(states) > 1:  # which one: each alone
            found = [self._post_one(state, n) for state in states]
            if all(answer is None for answer in found):
                raise refused
        for state, answer in zip(states, found, strict=True):
            if answer is None:
                logger.warning("a state of %d characters is too long for the model's context: no tactics "
                               "for it (the search goes on without it)", len(state))
        return [answer or [] for answer in found]

    def _post(self, states: list[str], n: int) -> list[list[Candidate]]:
        data, attempts = self._endpoint.post(self._payload(states, n))
        try:
            samples = parse_choices(data, len(states), n)
        except ValueError as exc:
            raise PolicyEndpointError(
                f"unexpected answer: {exc}",
                url=self._endpoint.url,
                status=200,
                body=json.dumps(data)[:BODY_EXCERPT_CHARS],
                attempts=attempts,
            ) from exc
        return [distinct_best_first(s)[:n] for s in samples]

    def _post_one(self, state: str, n: int) -> list[Candidate] | None:
        """``state``'s tactics, or ``None`` when the server refuses it as too long for the context."""
        try:
            return self._post([state], n)[0]
        except PolicyEndpointError as exc:
            if self._refused_as_too_long(exc):
                return None
            raise

    def _refused_as_too_long(self, exc: PolicyEndpointError) -> bool:
        """A 400 refusing a prompt too long for the context, unless ``max_tokens`` alone is as long as the
        server's context: a misconfiguration every prompt hits, not a long state."""
        if exc.status != 400 or not _TOO_LONG.search(exc.body):
            return False
        match = _CONTEXT.search(exc.body)
        return match is None or self.config.max_tokens < int(match.group(1))

    def _payload(self, states: list[str], n: int) -> dict[str, Any]:
        c = self.config
        payload: dict[str, Any] = {
            "model": c.model,
            "prompt": [step_prompt(s) for s in states],
            "n": n,
            "temperature": c.temperature,
            "top_p": c.top_p,
            "max_tokens": c.max_tokens,
            "logprobs": 1,
            "echo": False,
            "stream": False,
        }
        if c.stop:
            payload["stop"] = list(c.stop)
        if c.seed is not None:
            payload["seed"] = c.seed
        return payload


def parse_choices(data: Any, prompts: int, n: int) -> list[list[tuple[str, float]]]:
    """Per prompt: ``(tactic, mean token logprob)`` of each choice, tactic stripped, empty ones dropped.

    ``choices[k].index`` is ``prompt_index * n + j``. Raises ``ValueError`` for an answer without a
    ``choices`` list, an index out of range, a non-string text, or a non-empty tactic without log-probs.
    """
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise ValueError("no 'choices' list")
    samples: list[list[tuple[str, float]]] = [[] for _ in range(prompts)]
    for choice in choices:
        index = choice.get("index") if isinstance(choice, dict) else None
        if not isinstance(index, int) or not 0 <= index < prompts * n:
            raise ValueError(f"choice index {index!r} outside 0..{prompts * n - 1}")
        text = choice.get("text")
        if not isinstance(text, str):
            raise ValueError(f"choice {index} has no text")
        tactic = text.strip()
        if not tactic:
            continue
        logprob = mean_token_logprob(choice.get("logprobs"))
        if logprob is None:
            raise ValueError(f"choice {index} has no token log-probabilities (request sent logprobs=1)")
        if logprob > 1e-6:
            raise ValueError(f"choice {index} has a positive log-probability ({logprob})")
        if math.isfinite(logprob):  # JSON's NaN or -Infinity: a sample no score can rank is dropped
            samples[index // n].append((tactic, min(logprob, 0.0)))
    return samples


def mean_token_logprob(logprobs: Any) -> float | None:
    """Mean of ``logprobs["token_logprobs"]`` skipping nulls; ``None`` when there is no value."""
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not isinstance(values, list):
        return None
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(numbers) / len(numbers) if numbers else None


def distinct_best_first(samples: Sequence[tuple[str, float]]) -> list[Candidate]:
    """Each tactic once with its best logprob, sorted by descending logprob (ties: first seen first)."""
    best: dict[str, float] = {}
    for tactic, logprob in samples:
        if tactic not in best or logprob > best[tactic]:
            best[tactic] = logprob
    return [Candidate(t, lp) for t, lp in sorted(best.items(), key=lambda item: -item[1])]
