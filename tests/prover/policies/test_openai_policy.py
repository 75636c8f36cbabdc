"""OpenAICompletionsPolicy against a real HTTP server on loopback that speaks /v1/completions.

The server answers like vLLM: choices prompt by prompt, sample by sample, ``index = prompt * n + j``,
with ``logprobs.token_logprobs``. Tests queue scripted answers (status, body, delay) before the default one.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prover.policies.openai_policy import (
    OpenAICompletionsPolicy,
    OpenAIPolicyConfig,
    PolicyEndpointError,
    mean_token_logprob,
)
from search.protocols import Policy
from search.types import Candidate


@dataclass
class Scripted:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def default_answer(request: dict) -> dict:
    """Sample j of prompt ``S:::`` is ``S-tac{j % 3}`` with token logprobs [-0.1(j+1), -0.3(j+1), null]."""
    choices = []
    for p, prompt in enumerate(request["prompt"]):
        state = prompt.removesuffix(":::")
        for j in range(request["n"]):
            lp = [-0.1 * (j + 1), -0.3 * (j + 1), None]
            choices.append(
                {
                    "index": p * request["n"] + j,
                    "text": f" {state}-tac{j % 3}\n",
                    "logprobs": {"tokens": ["a", "b", "c"], "token_logprobs": lp},
                    "finish_reason": "stop",
                }
            )
    choices.reverse()  # out of order on purpose: the client must map by index
    return {"id": "cmpl-test", "object": "text_completion", "model": request["model"], "choices": choices}


def expected(state: str, n: int) -> list[Candidate]:
    best = {}
    for j in range(n):
        best.setdefault(f"{state}-tac{j % 3}", -0.2 * (j + 1))
    return [Candidate(t, lp) for t, lp in sorted(best.items(), key=lambda kv: -kv[1])]


class FakeEndpoint:
    """A real loopback HTTP server; ``script`` answers first, then ``default_answer``."""

    def __init__(self) -> None:
        self.script: deque[Scripted] = deque()
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with endpoint.lock:
                    endpoint.requests.append((self.path, dict(self.headers), body))
                    scripted = endpoint.script.popleft() if endpoint.script else None
                if scripted is None:
                    scripted = Scripted(body=json.dumps(default_answer(body)).encode())
                time.sleep(scripted.delay_s)
                try:
                    self.send_response(scripted.status)
                    for key, value in {"Content-Type": "application/json", **scripted.headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(scripted.body)))
                    self.end_headers()
                    self.wfile.write(scripted.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    server = FakeEndpoint()
    yield server
    server.close()


def make_policy(endpoint: FakeEndpoint, **overrides) -> OpenAICompletionsPolicy:
    settings = {
        "base_url": endpoint.url,
        "model": "tiny",
        "api_key": "",
        "backoff_s": 0.001,
        "max_backoff_s": 0.01,
        **overrides,
    }
    return OpenAICompletionsPolicy(OpenAIPolicyConfig(**settings))


def test_candidates_are_mapped_by_index_deduplicated_and_sorted(endpoint) -> None:
    states = ["x : ℕ\n⊢ x + 0 = x", "⊢ True"]
    with make_policy(endpoint) as policy:
        assert isinstance(policy, Policy)
        results = policy.propose(states, 4)
    assert len(results) == 2
    for state, candidates in zip(states, results, strict=True):
        assert [c.tactic for c in candidates] == [c.tactic for c in expected(state, 4)]
        assert [c.logprob for c in candidates] == pytest.approx([c.logprob for c in expected(state, 4)])
    assert len(endpoint.requests) == 1


def test_request_follows_the_completions_protocol(endpoint, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-at-construction")
    config = OpenAIPolicyConfig(
        base_url=endpoint.url + "/",
        model="prover-7b",
        temperature=1.3,
        top_p=0.9,
        max_tokens=64,
        stop=("\n\n",),
        seed=7,
    )
    policy = OpenAICompletionsPolicy(config)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-changed-later")
    policy.propose(["⊢ a ≤ b"], 2)
    policy.close()
    path, headers, body = endpoint.requests[0]
    assert path == "/v1/completions"
    assert headers["Authorization"] == "Bearer sk-at-construction"
    assert body == {
        "model": "prover-7b",
        "prompt": ["⊢ a ≤ b:::"],
        "n": 2,
        "temperature": 1.3,
        "top_p": 0.9,
        "max_tokens": 64,
        "logprobs": 1,
        "echo": False,
        "stream": False,
        "stop": ["\n\n"],
        "seed": 7,
    }
    assert "sk-at-construction" not in repr(config)


def test_no_api_key_sends_no_authorization(endpoint, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with make_policy(endpoint, api_key=None) as policy:
        policy.propose(["s"], 1)
    assert "Authorization" not in endpoint.requests[0][1]


def test_states_are_split_into_requests_in_order(endpoint) -> None:
    states = [f"s{i}" for i in range(5)]
    with make_policy(endpoint, states_per_request=2, parallel_requests=3) as policy:
        results = policy.propose(states, 1)
    assert results == [expected(s, 1) for s in states]
    assert sorted(len(body["prompt"]) for _, _, body in endpoint.requests) == [1, 2, 2]


def test_429_is_retried_then_succeeds(endpoint) -> None:
    endpoint.script.append(
        Scripted(status=429, body=b'{"error": "rate limited"}', headers={"Retry-After": "0"})
    )
    with make_policy(endpoint) as policy:
        assert policy.propose(["s"], 2) == [expected("s", 2)]
    assert len(endpoint.requests) == 2


def test_500_three_times_is_an_error_with_status_and_body(endpoint) -> None:
    for _ in range(3):
        endpoint.script.append(Scripted(status=500, body=b'{"error": "engine dead"}'))
    with make_policy(endpoint, max_retries=2) as policy, pytest.raises(PolicyEndpointError) as info:
        policy.propose(["s"], 2)
    error = info.value
    assert (error.status, error.attempts) == (500, 3)
    assert "engine dead" in error.body and "engine dead" in str(error)
    assert error.url == endpoint.url + "/completions"
    assert len(endpoint.requests) == 3


def test_client_errors_are_not_retried(endpoint) -> None:
    endpoint.script.append(Scripted(status=400, body=b'{"error": "unknown parameter: n"}'))
    with make_policy(endpoint) as policy, pytest.raises(PolicyEndpointError) as info:
        policy.propose(["s"], 1)
    assert (info.value.status, info.value.attempts, len(endpoint.requests)) == (400, 1, 1)


def test_a_state_too_long_for_the_context_gets_no_tactics_and_the_others_theirs(
        endpoint, caplog: pytest.LogCaptureFixture) -> None:
    """As a local model skips a prompt over its budget: the search goes on without that state."""
    too_long = Scripted(status=400, body=b'{"object": "error", "message": "This model\'s maximum context '
                                         b'length is 4096 tokens. However, you requested 9130 tokens"}')
    endpoint.script.extend([too_long, Scripted(body=json.dumps(default_answer(
        {"prompt": ["a:::"], "n": 2, "model": "tiny"})).encode()), too_long])
    with make_policy(endpoint, states_per_request=2) as policy:
        assert policy.propose(["a", "long"], 2) == [expected("a", 2), []]
    assert len(endpoint.requests) == 3  # both, then each on its own
    assert "too long for the model's context" in caplog.text


def test_a_context_every_prompt_overflows_is_an_error_not_empty_tactics(endpoint) -> None:
    """max_tokens alone as long as the context (a misconfiguration), or every prompt refused: an error."""
    too_long = Scripted(status=400, body=b'{"object": "error", "message": "This model\'s maximum context '
                                         b'length is 2048 tokens. However, you requested 4130 tokens (34 in '
                                         b'the messages, 4096 in the completion)"}')
    endpoint.script.append(too_long)
    with make_policy(endpoint, max_tokens=4096) as policy, pytest.raises(PolicyEndpointError):
        policy.propose(["a"], 2)
    refused = Scripted(status=400, body=b'{"message": "prompt is too long"}')
    endpoint.script.extend([refused, refused, refused])
    with make_policy(endpoint, states_per_request=2) as policy, pytest.raises(PolicyEndpointError):
        policy.propose(["a", "b"], 2)


def test_log_probs_that_are_not_finite_or_positive(endpoint) -> None:
    from prover.policies.attempt_sampling import attempt_seed

    assert attempt_seed(2**63 - 1, 2) == 0  # a seed's attempts stay within what torch takes
    def answer(values: list) -> bytes:
        choice = {"index": 0, "text": "simp", "logprobs": {"token_logprobs": values}}
        return json.dumps({"choices": [choice]}).encode()

    endpoint.script.extend([Scripted(body=answer([float("nan")])),
                            Scripted(body=answer([-1.0, float("-inf")]))])
    with make_policy(endpoint) as policy:
        assert policy.propose(["s"], 1) == [[]]  # a sample no score can rank is dropped
        assert policy.propose(["s"], 1) == [[]]
    endpoint.script.append(Scripted(body=answer([2.5, 1.0])))
    with make_policy(endpoint) as policy, pytest.raises(PolicyEndpointError, match="positive log-prob"):
        policy.propose(["s"], 1)


def test_malformed_json_is_an_error(endpoint) -> None:
    endpoint.script.append(Scripted(body=b'{"choices": [{"index": 0, "text": "simp"'))
    with make_policy(endpoint) as policy, pytest.raises(PolicyEndpointError, match="malformed JSON") as info:
        policy.propose(["s"], 1)
    assert info.value.status == 200 and '"choices"' in info.value.body


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"object": "error"}, "no 'choices' list"),
        ({"choices": [{"index": 2, "text": "simp", "logprobs": {"token_logprobs": [-1.0]}}]}, "outside"),
        ({"choices": [{"index": 0, "text": "simp", "logprobs": None}]}, "no token log-probabilities"),
    ],
)
def test_unusable_answers_are_errors(endpoint, answer, message) -> None:
    endpoint.script.append(Scripted(body=json.dumps(answer).encode()))
    with make_policy(endpoint) as policy, pytest.raises(PolicyEndpointError, match=message):
        policy.propose(["s"], 2 if "outside" not in message else 1)


def test_empty_tactics_are_dropped(endpoint) -> None:
    answer = {
        "choices": [
            {"index": 0, "text": "  \n", "logprobs": {"token_logprobs": [-0.5]}},
            {"index": 1, "text": " omega", "logprobs": {"token_logprobs": [-0.5, -1.5]}},
        ]
    }
    endpoint.script.append(Scripted(body=json.dumps(answer).encode()))
    with make_policy(endpoint) as policy:
        assert policy.propose(["s"], 2) == [[Candidate("omega", -1.0)]]


def test_timeout_is_retried_then_an_error(endpoint) -> None:
    endpoint.script.extend([Scripted(delay_s=1.0), Scripted(delay_s=1.0)])
    started = time.monotonic()
    with (
        make_policy(endpoint, timeout_s=0.2, max_retries=1) as policy,
        pytest.raises(PolicyEndpointError) as info,
    ):
        policy.propose(["s"], 1)
    assert time.monotonic() - started < 0.9
    assert (info.value.status, info.value.attempts) == (None, 2)
    assert "timed out" in str(info.value)


def test_timeout_then_success(endpoint) -> None:
    endpoint.script.append(Scripted(delay_s=0.6))
    with make_policy(endpoint, timeout_s=0.2, max_retries=1) as policy:
        assert policy.propose(["s"], 1) == [expected("s", 1)]


def test_refused_connection_is_an_error_after_retries() -> None:
    server = FakeEndpoint()
    url = server.url
    server.close()  # nothing listens on the port any more
    config = OpenAIPolicyConfig(base_url=url, api_key="", max_retries=2, backoff_s=0.001, max_backoff_s=0.01)
    with OpenAICompletionsPolicy(config) as policy, pytest.raises(PolicyEndpointError) as info:
        policy.propose(["s"], 1)
    assert (info.value.status, info.value.attempts) == (None, 3)
    assert "connection failed" in str(info.value)


def test_trivial_requests_send_nothing(endpoint) -> None:
    with make_policy(endpoint) as policy:
        assert policy.propose([], 3) == []
        assert policy.propose(["a", "b"], 0) == [[], []]
        with pytest.raises(ValueError):
            policy.propose(["a"], -1)
    assert endpoint.requests == []


def test_error_pickles_with_its_data() -> None:
    error = PolicyEndpointError(
        "request failed", url="http://h/v1/completions", status=503, body="x" * 900, attempts=4
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.attempts, copy.url, copy.body, str(copy)) == (
        503,
        4,
        error.url,
        "x" * 500,
        str(error),
    )


def test_mean_token_logprob_skips_nulls() -> None:
    assert mean_token_logprob({"token_logprobs": [None, -1.0, -3.0]}) == -2.0
    assert mean_token_logprob({"token_logprobs": [None]}) is None
    assert mean_token_logprob(None) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "localhost:8000"},
        {"model": " "},
        {"temperature": -1.0},
        {"top_p": 0.0},
        {"max_tokens": 0},
        {"stop": "\n"},
        {"stop": ("",)},
        {"states_per_request": 0},
        {"parallel_requests": 0},
        {"timeout_s": 0},
        {"max_retries": -1},
        {"backoff_s": 5, "max_backoff_s": 1},
    ],
)
def test_config_validation(kwargs) -> None:
    with pytest.raises(ValueError, match="invalid OpenAI policy configuration"):
        OpenAIPolicyConfig(**kwargs)


def test_config_fields_have_help() -> None:
    assert all(f.metadata.get("help") for f in dataclasses.fields(OpenAIPolicyConfig))


def test_an_unreachable_endpoint_is_exit_3_for_prove_and_sweep_before_any_work(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli.main import main

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    endpoint = ["--policy", "openai", "--openai-base-url", url, "--openai-model", "m",
                "--openai-max-retries", "0"]
    assert main(["prove", "--backend", "coq", *endpoint, "Theorem t : 1 = 1."]) == 3
    out = tmp_path / "sweep"
    assert main(["sweep", "coq_basic", "--backend", "coq", *endpoint, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert err.count("connection failed") == 2 and "Traceback" not in err
    assert not out.exists()  # the sweep stopped before it started any worker or wrote anything


def test_the_preflight_request_is_one_completion_for_a_trivial_state(endpoint) -> None:
    from prover.policies.spec import PolicySpec, preflight

    config = OpenAIPolicyConfig(base_url=endpoint.url, model="tiny", api_key="")
    preflight(PolicySpec("openai", "coq", endpoint=config))
    ((path, _, body),) = endpoint.requests
    assert path == "/v1/completions" and body["n"] == 1
    assert body["prompt"] == ["============================\nTrue:::"]
