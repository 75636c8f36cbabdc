"""Tactics/s of the batching policy server against one request at a time (issue 4, point 6, "batching").

The step prover is the tiny Qwen2 of ``tests/prover/tiny_models.py`` (trained for a few seconds to end
tactics with EOS) behind ``HFPolicy`` on CPU. ``--clients`` threads each send ``--requests`` requests of
one state with ``n`` samples, as search workers do:

- baseline: the requests reach the model one at a time (a lock around ``HFPolicy.propose``);
- batched: they go through ``BatchingPolicy`` (in this process), which merges concurrent requests;
- with ``--ray``, also through a ``PolicyServer`` actor (the model built inside it) and ``RemotePolicy``.

Tactics/s counts sampled tactics (requests * n), the model's work; distinct candidates are reported too.

Run: python benchmarks/bench_batching.py [--clients 16] [--requests 16] [--n 4] [--repeats 3] [--ray]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

from prover.parallel.batching import BatchingPolicy
from prover.policies.hf_policy import HFPolicy
from prover.policies.hf_policy_config import HFPolicyConfig
from search.protocols import Policy
from search.types import Candidate

TINY_MODELS = Path(__file__).resolve().parent.parent / "tests" / "prover" / "tiny_models.py"


def load_tiny_models() -> ModuleType:
    """``tests/prover/tiny_models.py`` imported by path (``tests`` is not a package)."""
    spec = importlib.util.spec_from_file_location("_bench_tiny_models", TINY_MODELS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class SerialPolicy:
    """One request at a time: concurrent callers queue on a lock in front of the policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.lock = threading.Lock()

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        with self.lock:
            return self.policy.propose(states, n)


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    requests: int
    sampled: int
    distinct: int
    latencies: tuple[float, ...]

    def line(self, baseline: Run | None) -> str:
        ratio = (
            f"{(self.sampled / self.seconds) / (baseline.sampled / baseline.seconds):6.2f}x"
            if baseline
            else "  1.00x"
        )
        return (
            f"{self.name:<22} {self.seconds:7.2f} s  {self.sampled / self.seconds:8.1f} tactics/s  "
            f"{self.distinct / self.seconds:8.1f} distinct/s  "
            f"p50 latency {1e3 * statistics.median(self.latencies):7.1f} ms  {ratio}"
        )


def drive(name: str, policy: Policy, states: Sequence[str], *, clients: int, requests: int, n: int) -> Run:
    """``clients`` threads, each sending ``requests`` one-state requests (released together)."""
    barrier = threading.Barrier(clients + 1)

    def client(c: int) -> list[tuple[float, int]]:
        barrier.wait()
        out = []
        for r in range(requests):
            started = time.perf_counter()
            result = policy.propose([states[(c * requests + r) % len(states)]], n)
            out.append((time.perf_counter() - started, len(result[0])))
        return out

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, c) for c in range(clients)]
        barrier.wait()
        started = time.perf_counter()
        per_client = [f.result() for f in futures]
        seconds = time.perf_counter() - started
    records = [r for rs in per_client for r in rs]
    return Run(
        name,
        seconds,
        len(records),
        len(records) * n,
        sum(d for _, d in records),
        tuple(lat for lat, _ in records),
    )


def median_run(runs: Sequence[Run]) -> Run:
    """The run of median duration (the machine may be shared: repeats, interleaved, then the median)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def ray_run(tiny: ModuleType, model, tokenizer, config: HFPolicyConfig, states, args) -> Run:
    """The same clients against a ``PolicyServer`` actor that loads the saved tiny model itself."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from prover.parallel.policy_server import (
        HFPolicyFactory,
        PolicyServerConfig,
        RemotePolicy,
        start_policy_server,
    )

    with tempfile.TemporaryDirectory() as directory:
        tiny.save_tiny(Path(directory), model, tokenizer)
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            factory = HFPolicyFactory(HFPolicyConfig(**{**vars_of(config), "model": directory}))
            server = PolicyServerConfig(
                max_batch_states=args.max_batch_states,
                max_wait_ms=args.max_wait_ms,
                # Ray sets an actor's OMP_NUM_THREADS to num_cpus; 1 thread avoids oversubscribing 2 cores
                # (with 2 torch threads next to the driver the run was 10x slower here).
                num_cpus=1,
                max_concurrency=args.clients + 4,
            )
            remote = RemotePolicy(start_policy_server(factory, server))
            remote.propose(states[:1], args.n)  # warm-up
            common = {"clients": args.clients, "requests": args.requests, "n": args.n}
            runs = [drive("ray PolicyServer", remote, states, **common) for _ in range(args.repeats)]
            stats = remote.stats()
            print(f"  ray server: {stats.batches} batches, mean {stats.mean_batch_states:.1f} states")
            return median_run(runs)
        finally:
            ray.shutdown()


def vars_of(config: HFPolicyConfig) -> dict:
    import dataclasses

    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=16, help="one-state requests per client")
    parser.add_argument("--n", type=int, default=4, help="tactics sampled per state")
    parser.add_argument("--max-batch-states", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch threads (the Ray actor gets num_cpus=1: one)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant; the median is shown")
    parser.add_argument("--ray", action="store_true", help="also measure through a Ray PolicyServer actor")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.torch_threads)
    tiny = load_tiny_models()
    tokenizer = tiny.tiny_tokenizer()
    model = tiny.tiny_qwen2(tokenizer)
    config = HFPolicyConfig(
        device="cpu",
        max_new_tokens=args.max_new_tokens,
        max_prompt_tokens=200,
        batch_size=args.max_batch_states,
        seed=0,
    )
    policy = HFPolicy(config, model=model, tokenizer=tokenizer)
    states = [state for state, _ in tiny.TRAINING_PAIRS]
    policy.propose(states, args.n)  # warm-up
    print(
        f"tiny Qwen2 on CPU ({torch.get_num_threads()} torch threads); {args.clients} clients x "
        f"{args.requests} requests of 1 state, n={args.n}, max_new_tokens={args.max_new_tokens}"
    )
    common = {"clients": args.clients, "requests": args.requests, "n": args.n}
    serial = SerialPolicy(policy)
    baselines, batched_runs = [], []
    with BatchingPolicy(
        policy, max_batch_states=args.max_batch_states, max_wait_ms=args.max_wait_ms
    ) as batching:
        for _ in range(args.repeats):
            baselines.append(drive("one at a time", serial, states, **common))
            batched_runs.append(drive("BatchingPolicy", batching, states, **common))
        stats = batching.stats()
    baseline, batched = median_run(baselines), median_run(batched_runs)
    runs = [baseline, batched]
    if args.ray:
        runs.append(ray_run(tiny, model, tokenizer, config, states, args))
    for run in runs:
        print(run.line(None if run is baseline else baseline))
    print(
        f"  batching stats: {stats.batches} batches, mean {stats.mean_batch_states:.1f} states, "
        f"largest {stats.largest_batch}"
    )


if __name__ == "__main__":
    main()
