"""PolicyServer as a plain class, and as a Ray actor reached through RemotePolicy (real local Ray)."""

from __future__ import annotations

import functools
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from prover.parallel.batching import PolicyClosedError
from prover.parallel.policy_server import (
    HFPolicyFactory,
    PolicyServer,
    PolicyServerConfig,
    PolicyServerError,
    PolicyServerTimeoutError,
    RemotePolicy,
    start_policy_server,
    start_policy_servers,
)
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.spec import ServedPolicy
from search.protocols import Policy
from search.types import Candidate


def test_plain_server_builds_its_policy_and_batches(fakes) -> None:
    config = PolicyServerConfig(max_batch_states=4, max_wait_ms=10_000)
    server = PolicyServer(fakes.RecordingPolicy, config)
    barrier = threading.Barrier(2)

    def call(i: int):
        barrier.wait()
        return server.propose([f"s{i}a", f"s{i}b"], 2)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(call, range(2)))
    assert results == [[fakes.expected(f"s{i}{x}", 2) for x in "ab"] for i in range(2)]
    assert server.ready()
    assert len(server.policy.calls) == 1
    assert server.stats().batches == 1
    server.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch_states": 0},
        {"max_wait_ms": -1},
        {"num_gpus": -1},
        {"num_cpus": -0.5},
        {"max_concurrency": 0},
        {"max_restarts": -2},
        {"max_task_retries": -2},
        {"start_timeout_s": 0},
        {"call_timeout_s": 0},
        {"replicas": 0},
    ],
)
def test_config_validation(kwargs) -> None:
    with pytest.raises(ValueError, match="invalid policy server configuration"):
        PolicyServerConfig(**kwargs)


def test_config_fields_have_help() -> None:
    import dataclasses

    assert all(f.metadata.get("help") for f in dataclasses.fields(PolicyServerConfig))


def test_a_server_gets_a_gpu_by_default_where_the_cluster_has_one() -> None:
    assert PolicyServerConfig().actor_options(cluster_gpus=8)["num_gpus"] == 1.0
    assert PolicyServerConfig().actor_options(cluster_gpus=0)["num_gpus"] == 0.0
    assert PolicyServerConfig(num_gpus=0).actor_options(cluster_gpus=8)["num_gpus"] == 0  # asked for none
    assert PolicyServerConfig(num_gpus=0.5).actor_options(cluster_gpus=8)["num_gpus"] == 0.5


def test_actor_options_come_from_the_config() -> None:
    options = PolicyServerConfig(num_gpus=1, num_cpus=2, max_concurrency=64, name="policy").actor_options(0)
    assert options == {
        "num_cpus": 2,
        "num_gpus": 1,
        "max_concurrency": 64,
        "max_restarts": 1,
        "max_task_retries": 1,
        "name": "policy",
    }


@pytest.fixture(scope="module")
def echo_server(ray_session, fakes):
    import ray

    config = PolicyServerConfig(max_batch_states=16, max_wait_ms=10_000, num_cpus=0, max_concurrency=32)
    handle = start_policy_server(functools.partial(fakes.EchoPolicy, fail_on="poison"), config)
    yield handle
    ray.kill(handle)


def test_remote_policy_merges_concurrent_callers(echo_server, fakes) -> None:
    policy = RemotePolicy(echo_server, timeout_s=30)
    assert isinstance(policy, Policy)
    before = policy.stats()
    barrier = threading.Barrier(8)

    def call(i: int) -> list[list[Candidate]]:
        barrier.wait()
        return policy.propose([f"w{i}a", f"w{i}b"], 3)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert results == [[fakes.expected(f"w{i}{x}", 3) for x in "ab"] for i in range(8)]
    after = policy.stats()
    # 16 states fill one batch exactly, so it was sent at once, as one call.
    assert (after.batches - before.batches, after.states - before.states) == (1, 16)
    assert after.requests - before.requests == 8


def test_errors_of_the_policy_reach_the_remote_caller(echo_server) -> None:
    policy = RemotePolicy(echo_server, timeout_s=30)
    before = policy.stats()
    with pytest.raises(ValueError, match="poison"):
        policy.propose(["poison"] * 16, 1)
    assert policy.stats().failed_batches == before.failed_batches + 1


def test_one_bad_state_fails_only_its_remote_caller(echo_server, fakes) -> None:
    """8 callers share one batch of 16 states; one state makes the policy raise: that caller alone gets
    the policy's error (as its own type), the other 7 their results."""
    policy = RemotePolicy(echo_server, timeout_s=30)
    barrier = threading.Barrier(8)

    def call(i: int) -> object:
        barrier.wait()
        try:
            return policy.propose([f"v{i}a", "poison" if i == 3 else f"v{i}b"], 1)
        except ValueError as error:
            return error

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert isinstance(results[3], ValueError) and "poison" in str(results[3])
    for i in set(range(8)) - {3}:
        assert results[i] == [fakes.expected(f"v{i}{x}", 1) for x in "ab"]


def test_a_server_that_never_answers_times_out_with_its_name(ray_session, fakes) -> None:
    import time

    import ray

    from prover.sweep.pool import FATAL

    handle = start_policy_server(functools.partial(fakes.SleepingPolicy, 120),
                                 PolicyServerConfig(max_wait_ms=0, num_cpus=0))
    try:
        policy = RemotePolicy(handle, timeout_s=0.5, server="sleepy")
        started = time.monotonic()
        expected = r"policy server sleepy \(actor [0-9a-f]+\) did not answer within 0.5 s"
        with pytest.raises(PolicyServerTimeoutError, match=expected) as info:
            policy.propose(["s"], 1)
        assert time.monotonic() - started < 30
        assert policy.for_attempt(2).server == "sleepy"
    finally:
        ray.kill(handle)
    error = pickle.loads(pickle.dumps(info.value))  # crosses from a search worker to the sweep's driver
    assert (error.server, error.timeout_s, str(error)) == (info.value.server, 0.5, str(info.value))
    # Not one of the errors that end a sweep: the attempt ends as an error record, the sweep goes on.
    assert isinstance(error, PolicyServerError) and not isinstance(error, FATAL)


def test_served_clients_have_a_timeout_and_name_their_server() -> None:
    served = ServedPolicy(("a1", "a2"), "tiny", ("A", "B"))
    client = served()
    assert isinstance(client, RemotePolicy)
    assert client.timeout_s == PolicyServerConfig().call_timeout_s == 600.0
    assert client.server in ("1 of 2 serving 'tiny'", "2 of 2 serving 'tiny'")
    assert client.for_attempt(3).timeout_s == 600.0
    assert ServedPolicy(("a1",), "tiny", timeout_s=5.0)().timeout_s == 5.0


def test_serve_model_gives_its_clients_the_configured_timeout(echo_server, monkeypatch, tmp_path) -> None:
    from prover.parallel import policy_server

    monkeypatch.setattr(policy_server, "start_policy_servers", lambda factory, config: [echo_server])
    served = policy_server.serve_model(HFPolicyConfig(model=str(tmp_path), device="cpu"),
                                       PolicyServerConfig(call_timeout_s=42), "echo")
    assert served.timeout_s == 42.0 and served().timeout_s == 42.0


def test_remote_policy_works_from_another_ray_worker(echo_server, fakes) -> None:
    """A search worker receives the pickled RemotePolicy and calls the server from its own process."""
    import ray

    policy = RemotePolicy(echo_server, timeout_s=30)
    pickle.dumps(policy)  # nothing but the actor handle and the timeout

    @ray.remote(num_cpus=0)
    def worker(p: RemotePolicy, states: list[str]) -> list[list[Candidate]]:
        return p.propose(states, 2)

    states = [f"remote{i}" for i in range(16)]
    assert ray.get(worker.remote(policy, states), timeout=60) == [fakes.expected(s, 2) for s in states]


def test_hf_model_is_loaded_inside_the_actor(ray_session, tiny_model_dir) -> None:
    import ray

    hf = HFPolicyConfig(model=str(tiny_model_dir), device="cpu", max_new_tokens=16, seed=0, batch_size=8)
    config = PolicyServerConfig(max_batch_states=8, max_wait_ms=5, num_cpus=0, start_timeout_s=120)
    handle = start_policy_server(HFPolicyFactory(hf), config)
    try:
        policy = RemotePolicy(handle, timeout_s=120)
        states = ["x : ℕ\n⊢ x + 0 = x", "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q"]
        results = policy.propose(states, 4)
        assert len(results) == 2
        assert any(results)
        for candidates in results:
            assert len(candidates) <= 4
            assert len({c.tactic for c in candidates}) == len(candidates)
            assert all(c.logprob <= 0 and c.tactic for c in candidates)
            assert [c.logprob for c in candidates] == sorted((c.logprob for c in candidates), reverse=True)
        assert policy.stats().states == 2
    finally:
        ray.kill(handle)


def test_a_factory_that_fails_surfaces_at_start(ray_session, tmp_path) -> None:
    hf = HFPolicyConfig(model=str(tmp_path / "missing"), device="cpu")
    config = PolicyServerConfig(num_cpus=0, max_restarts=0, start_timeout_s=60)
    # Ray reports the cause only as text: its last line (ModelLoadError's message) is the error's.
    with pytest.raises(PolicyServerError, match=r"failed to start: cannot load step-prover model .*missing.*"
                                                r"no such directory"):
        start_policy_server(HFPolicyFactory(hf), config)


def test_a_server_that_cannot_be_placed_times_out_with_the_reason(ray_session, fakes) -> None:
    config = PolicyServerConfig(num_cpus=64, start_timeout_s=1)
    with pytest.raises(PolicyServerError, match=r"did not start within 1 s.*64 free CPUs"):
        start_policy_server(fakes.EchoPolicy, config)


def test_replicas_serve_the_workers_of_their_own_node(ray_session, fakes) -> None:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    config = PolicyServerConfig(num_cpus=0, replicas=2, max_wait_ms=1, name="echo-replicas")
    handles = start_policy_servers(fakes.EchoPolicy, config)
    try:
        assert ray.get_actor("echo-replicas-1") is not None
        nodes = ray.get([h.node_id.remote() for h in handles])
        served = ServedPolicy(tuple(handles), "echo", tuple(nodes))

        @ray.remote(num_cpus=0)
        def worker(factory: ServedPolicy) -> None:
            assert factory().propose(["s"], 1) == [fakes.expected("s", 1)]

        for node in (n["NodeID"] for n in ray.nodes() if n["Alive"]):
            before = [ray.get(h.stats.remote()).requests for h in handles]
            pinned = worker.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
            ray.get(pinned.remote(served))
            after = [ray.get(h.stats.remote()).requests for h in handles]
            (used,) = [i for i in range(len(handles)) if after[i] == before[i] + 1]
            if node in nodes:  # a server runs on the worker's node: the worker used that one
                assert nodes[used] == node
    finally:
        for handle in handles:
            ray.kill(handle)


def test_served_policy_prefers_local_servers_and_spreads_workers_over_them() -> None:
    served = ServedPolicy(("a1", "a2", "b1"), "label", ("A", "A", "B"))
    assert {served.choose("A", seed) for seed in range(4)} == {"a1", "a2"}
    assert served.choose("B", 7) == "b1"
    assert {served.choose("C", seed) for seed in range(3)} == {"a1", "a2", "b1"}  # no local one: any
    assert ServedPolicy(("x",), "label").choose(None, 5) == "x"


def test_each_attempt_is_served_with_its_own_sampling_settings(fakes) -> None:
    """A client's attempt reaches the server's policy as ``for_attempt``: attempts that sample alike share
    a batcher, the others get their own; the counters add up over all of them."""
    server = PolicyServer(functools.partial(fakes.TemperaturePolicy, 1.0, (0.5, 0.25)),
                          PolicyServerConfig(max_wait_ms=0))
    try:
        answers = {k: server.propose(["s"], 1, attempt=k)[0][0].tactic for k in (1, 2, 3, 4)}
        assert answers == {1: "s@1.0", 2: "s@0.5", 3: "s@0.25", 4: "s@0.25"}
        assert server.propose(["t"], 1)[0][0].tactic == "t@1.0"  # a plain client: attempt 1
        assert server.policy.calls == [("s",), ("t",)]
        assert server.policy.others[0.25].calls == [("s",), ("s",)]  # attempts 3 and 4: one policy
        stats = server.stats()
        assert (stats.requests, stats.batches, stats.states, stats.largest_batch) == (5, 5, 5, 1)
    finally:
        server.close()
    with pytest.raises(PolicyClosedError):
        server.propose(["s"], 1, attempt=2)  # every attempt's batcher is closed


def test_attempts_take_turns_on_the_model(fakes) -> None:
    gate = threading.Event()
    server = PolicyServer(functools.partial(fakes.TemperaturePolicy, 1.0, (0.5,), gate, 1.0),
                          PolicyServerConfig(max_wait_ms=0))
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(server.propose, ["a"], 1, 1)
            assert server.policy.entered.wait(10)  # attempt 1's batch holds the model
            second = pool.submit(server.propose, ["b"], 1, 2)
            other = server.policy.for_attempt(2)
            assert not other.entered.wait(0.3)  # attempt 2's batch waits for its turn
            gate.set()
            assert first.result(10)[0][0].tactic == "a@1.0" and second.result(10)[0][0].tactic == "b@0.5"
    finally:
        gate.set()
        server.close()


def test_a_remote_attempt_reaches_the_actor(ray_session, fakes) -> None:
    handle = start_policy_server(functools.partial(fakes.TemperaturePolicy, 1.0, (0.5,)),
                                 PolicyServerConfig(max_wait_ms=0, num_cpus=0.1))
    try:
        client = ServedPolicy((handle,), "temperature", (None,), fingerprint="fp")()
        second = client.for_attempt(2)
        assert client.propose(["s"], 1)[0][0].tactic == "s@1.0"
        assert second.propose(["s"], 1)[0][0].tactic == "s@0.5"
        assert (client.fingerprint, second.fingerprint) == ("fp", "fp#attempt=2")
    finally:
        import ray

        ray.kill(handle)
