"""The chat-completions planner client against a real HTTP server on loopback: the request it sends, the
answers it reads, and how it survives 500s, 429s with Retry-After, timeouts and refused connections
(bounded retries, then a typed error with a clear message)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from planner_chat_server import ChatServer, Reply, completion, recorded

from planner import (
    ChatMessage,
    OpenAIChatPlanner,
    PlannerClient,
    PlannerClientConfig,
    PlannerConfigError,
    PlannerEndpointError,
    make_planner_client,
    parse_plan,
)

MESSAGES = [ChatMessage("system", "plan"), ChatMessage("user", "theorem t : 1 = 1 :=")]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as running:
        yield running


def client(server: ChatServer, sleeps: list[float] | None = None, **settings: object) -> OpenAIChatPlanner:
    base = {"model": "planner-test", "base_url": server.base_url, "api_key": "sk-test", "backoff_s": 0.01,
            "max_backoff_s": 5.0, "timeout_s": 5.0}
    config = PlannerClientConfig(**{**base, **settings})  # type: ignore[arg-type]
    return OpenAIChatPlanner(config, sleep=sleeps.append if sleeps is not None else time.sleep)


def test_it_sends_a_chat_completion_request_and_reads_the_answer(server: ChatServer) -> None:
    server.push("plan_fenced")
    with client(server, seed=7, temperature=0.2, max_tokens=512) as planner:
        assert isinstance(planner, PlannerClient)
        text = planner.complete(MESSAGES).text
    assert parse_plan(text).plan.lines() == ["have h1 : 5 * x = 25", "have h2 : x = 25 / 5"]
    (seen,) = server.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.body == {"model": "planner-test", "messages": [m.as_dict() for m in MESSAGES],
                         "temperature": 0.2, "top_p": 0.95, "max_tokens": 512, "n": 1, "stream": False,
                         "seed": 7}


@pytest.mark.parametrize("name", ["plan_numbered", "plan_think", "plan_lean3", "plan_unsafe", "multiline"])
def test_recorded_answers_come_back_verbatim(server: ChatServer, name: str) -> None:
    server.push(name)
    with client(server) as planner:
        assert planner.complete(MESSAGES).text == recorded(name)["choices"][0]["message"]["content"]


def test_a_null_content_is_an_empty_answer(server: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    server.push("plan_empty", "plan_truncated")
    with client(server) as planner:
        empty, cut = planner.complete(MESSAGES), planner.complete(MESSAGES)
    assert empty.text == "" and empty.cut_off  # a reasoning model that used up max_tokens thinking
    assert cut.text.endswith("have h2 : x = (25 / 5") and cut.cut_off
    assert "cut off" in caplog.text


def test_model_url_and_key_come_from_the_environment(server: ChatServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MODEL", "env-model")
    monkeypatch.setenv("PLANNER_BASE_URL", server.base_url)
    monkeypatch.delenv("PLANNER_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    server.push("plan_fenced", "plan_fenced")
    planner = make_planner_client(PlannerClientConfig())
    try:
        planner.complete(MESSAGES)
    finally:
        planner.close()
    with OpenAIChatPlanner(PlannerClientConfig(model="explicit", api_key="")) as explicit:
        explicit.complete(MESSAGES)
    assert server.seen[0].body["model"] == "env-model"
    assert server.seen[0].headers["authorization"] == "Bearer sk-env"
    assert server.seen[1].body["model"] == "explicit" and "authorization" not in server.seen[1].headers


def test_no_model_anywhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_MODEL", raising=False)
    with pytest.raises(PlannerConfigError, match="--planner-model"):
        OpenAIChatPlanner(PlannerClientConfig())


def test_server_errors_are_retried_then_succeed(server: ChatServer) -> None:
    server.push(Reply(500, recorded("server_error")), Reply(503, "upstream unavailable"), "plan_fenced")
    sleeps: list[float] = []
    with client(server, sleeps) as planner:
        assert "have h1" in planner.complete(MESSAGES).text
        assert planner.requests == 3
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] * 0.5


def test_a_retry_is_logged_for_the_summary_without_an_attempt_count(
        server: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    """The CLI's one-line retry summary counts retries itself: "after 1 attempt(s)" would contradict it."""
    server.push(Reply(503, "upstream unavailable"), "plan_fenced")
    with caplog.at_level("WARNING"), client(server, []) as planner:
        planner.complete(MESSAGES)
    retries = [r.retry_error for r in caplog.records if hasattr(r, "retry_error")]
    assert retries == ["request failed (HTTP 503)"]


def test_429_waits_for_retry_after(server: ChatServer) -> None:
    server.push(Reply(429, recorded("rate_limited"), {"Retry-After": "0.3"}), "plan_fenced")
    started = time.monotonic()
    with client(server) as planner:
        planner.complete(MESSAGES)
    assert time.monotonic() - started >= 0.3
    assert len(server.seen) == 2


def test_retry_after_is_capped(server: ChatServer) -> None:
    server.push(Reply(429, recorded("rate_limited"), {"Retry-After": "3600"}), "plan_fenced")
    sleeps: list[float] = []
    with client(server, sleeps, max_backoff_s=2.0) as planner:
        planner.complete(MESSAGES)
    assert sleeps == [2.0]


def test_persistent_rate_limiting_gives_up_with_the_status_and_body(server: ChatServer) -> None:
    server.fallback = Reply(429, recorded("rate_limited"), {"Retry-After": "0"})
    sleeps: list[float] = []
    with client(server, sleeps, max_retries=2) as planner, pytest.raises(PlannerEndpointError) as caught:
        planner.complete(MESSAGES)
    error = caught.value
    assert error.status == 429 and error.attempts == 3 and len(server.seen) == 3
    assert "rate limited" in str(error) and "Rate limit reached" in str(error)
    assert server.base_url in str(error) and "HTTP 429" in str(error)


def test_a_client_error_is_not_retried(server: ChatServer) -> None:
    server.push(Reply(400, recorded("bad_request")))
    with client(server) as planner, pytest.raises(PlannerEndpointError) as caught:
        planner.complete(MESSAGES)
    assert caught.value.status == 400 and caught.value.attempts == 1
    assert "maximum context length" in str(caught.value)


def test_timeouts_are_retried_then_reported(server: ChatServer) -> None:
    server.push(Reply(200, recorded("plan_fenced"), delay=1.0), "plan_fenced")
    with client(server, timeout_s=0.2) as planner:
        assert "have h1" in planner.complete(MESSAGES).text
    server.fallback = Reply(200, recorded("plan_fenced"), delay=1.0)
    with client(server, timeout_s=0.2, max_retries=1) as planner, \
            pytest.raises(PlannerEndpointError, match="timed out") as caught:
        planner.complete(MESSAGES)
    assert caught.value.status is None and caught.value.attempts == 2


def test_the_time_left_bounds_the_call_retries_included(server: ChatServer) -> None:
    """The planning attempt's time limit holds while waiting on the endpoint (the planner audit's: a slow
    or busy server used to outlast it by its own timeout and retries)."""
    server.fallback = Reply(200, recorded("plan_fenced"), delay=2.0)
    with client(server, max_retries=3) as planner, pytest.raises(PlannerEndpointError, match="timed out"):
        started = time.monotonic()
        planner.complete(MESSAGES, timeout=0.4)
    assert time.monotonic() - started < 1.5 and planner.requests == 1  # no retry past the deadline
    server.fallback = Reply(503, "busy")
    sleeps: list[float] = []
    with client(server, sleeps, max_retries=3, backoff_s=1.0) as planner, \
            pytest.raises(PlannerEndpointError, match="503"):
        planner.complete(MESSAGES, timeout=0.5)
    assert sleeps == [] and planner.requests == 1  # a wait longer than the time left is not started


def test_a_refused_connection_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = PlannerClientConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1,
                                 backoff_s=0.01)
    with OpenAIChatPlanner(config) as planner, pytest.raises(PlannerEndpointError, match="connection failed"):
        planner.complete(MESSAGES)


def test_the_reachability_check_asks_for_the_models_only(server: ChatServer) -> None:
    with client(server) as planner:
        planner.check_reachable()
    (seen,) = server.seen
    assert seen.path == "/v1/models" and seen.headers["authorization"] == "Bearer sk-test"
    server.models = Reply(404, {"error": "no such route"})  # a server that lists no models still passes
    with client(server) as planner:
        planner.check_reachable()


def test_the_reachability_check_fails_for_a_refused_key_or_no_server(server: ChatServer) -> None:
    server.models = Reply(401, {"error": {"message": "invalid api key"}})
    with client(server) as planner, pytest.raises(PlannerEndpointError, match="API key was refused"):
        planner.check_reachable()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = PlannerClientConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1")
    with OpenAIChatPlanner(config) as planner, pytest.raises(PlannerEndpointError, match="cannot reach it"):
        planner.check_reachable()


@pytest.mark.parametrize("reply", [Reply(200, "this is not JSON"), Reply(200, {"object": "error"}),
                                   Reply(200, {"choices": [{"index": 0}]}),
                                   Reply(200, {"choices": [{"message": {"content": 42}}]})])
def test_malformed_answers_are_typed_errors(server: ChatServer, reply: Reply) -> None:
    server.push(reply)
    with client(server) as planner, pytest.raises(PlannerEndpointError) as caught:
        planner.complete(MESSAGES)
    assert caught.value.status == 200 and caught.value.attempts == 1


def test_errors_pickle_with_their_data() -> None:
    import pickle

    error = PlannerEndpointError("rate limited", url="http://x/v1", status=429, body="slow down", attempts=3)
    again = pickle.loads(pickle.dumps(error))
    assert (again.status, again.body, again.attempts, str(again)) == (429, "slow down", 3, str(error))


def test_completion_helper_matches_the_recorded_shape() -> None:
    assert completion("x")["choices"][0]["message"]["content"] == "x"
