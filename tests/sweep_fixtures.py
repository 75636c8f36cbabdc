"""Scripted benchmarks for sweep tests: theorems whose environments are known exactly."""

from __future__ import annotations

import json
from pathlib import Path

from scripted import QED, Fail, KillOnce, MultiScriptedBackend, ScriptedEnv, ScriptedPolicy

POLICY_TACTICS = [("step", -0.1), ("fin", -0.2), ("boom", -0.3)]


def provable(depth: int) -> ScriptedEnv:
    moves = {f"g{i}": {"step": f"g{i + 1}"} for i in range(depth)}
    moves[f"g{depth}"] = {"fin": QED}
    return ScriptedEnv(root="g0", moves=moves)


def unprovable() -> ScriptedEnv:
    return ScriptedEnv(root="g0", moves={"g0": {"step": "g1", "fin": Fail("no")}, "g1": {}})


def lucky() -> ScriptedEnv:
    """Provable only by ``alt``, a tactic that only a later attempt of ``SamplingPolicy`` draws."""
    return ScriptedEnv(root="g0", moves={"g0": {"step": "g1", "alt": QED}, "g1": {"step": "g2"}, "g2": {}})


def killer(marker: str) -> ScriptedEnv:
    return ScriptedEnv(root="g0", moves={"g0": {"boom": KillOnce(marker, QED)}})


def write_benchmark(path: Path, names: dict[str, str]) -> Path:
    """``names``: theorem -> kind (provable, unprovable, invalid, killer)."""
    with path.open("w") as fh:
        for i, (name, kind) in enumerate(names.items()):
            statement = f"theorem {name} : INVALID :=" if kind == "invalid" else f"theorem {name} : P :="
            fh.write(json.dumps({"name": name, "split": "test" if i % 2 else "valid",
                                 "header": "", "statement": statement}) + "\n")
    return path


class BackendFactory:
    """Picklable: builds the scripted backend inside each worker process."""

    def __init__(self, names: dict[str, str], marker: str = "") -> None:
        self.names = names
        self.marker = marker

    def __call__(self) -> MultiScriptedBackend:
        envs = {}
        for i, (name, kind) in enumerate(self.names.items()):
            if kind == "provable":
                envs[name] = provable(1 + i % 3)
            elif kind == "killer":
                envs[name] = killer(self.marker)
            elif kind == "lucky":
                envs[name] = lucky()
            else:
                envs[name] = unprovable()
        return MultiScriptedBackend(envs)


def scripted_spec(search, sessions: int = 1):
    """The ``RunSpec`` of a sweep whose backend and policy factories are scripted (given to ``run_sweep``
    beside it): the spec carries the search and driver settings every worker uses."""
    from prover.backends import BackendSettings
    from prover.policies.spec import PolicySpec
    from prover.run_spec import DriverConfig, RunSpec
    from search.backends.lean import LeanReplConfig

    return RunSpec(backend=BackendSettings("repl", LeanReplConfig()), policy=PolicySpec("tactics", "lean"),
                   search=search, driver=DriverConfig(sessions=sessions))


def policy_factory() -> ScriptedPolicy:
    return ScriptedPolicy({}, default=lambda state: list(POLICY_TACTICS))


def fixed_policy() -> ScriptedPolicy:
    """``policy_factory``'s tactics under a fingerprint: a deterministic policy whose failures a proof
    cache may reuse, the same in every attempt."""
    return ScriptedPolicy({}, default=lambda state: list(POLICY_TACTICS), fingerprint="scripted:fixed")


class SamplingPolicy(ScriptedPolicy):
    """Stands in for a sampling model in pass@N: attempt 1 draws ``POLICY_TACTICS``, later attempts also
    draw ``alt``; like a sampler's, its fingerprint names the attempt."""

    def __init__(self, attempt: int = 1) -> None:
        extra = [("alt", -0.4)] if attempt > 1 else []
        super().__init__({}, default=lambda state: [*POLICY_TACTICS, *extra],
                         fingerprint=f"scripted:sampled#attempt={attempt}")
        self.attempt = attempt

    def for_attempt(self, attempt: int) -> SamplingPolicy:
        return SamplingPolicy(attempt)


class SlowPolicy(ScriptedPolicy):
    """Takes ``delay`` seconds per call, so a sweep runs long enough to be killed mid-way."""

    def __init__(self, delay: float) -> None:
        super().__init__({}, default=lambda state: list(POLICY_TACTICS))
        self.delay = delay

    def propose(self, states, n):
        import time

        time.sleep(self.delay)
        return super().propose(states, n)


class NodeMarkingPolicy(SlowPolicy):
    """A slow policy that leaves a file named after its Ray node in ``folder`` on each call, so a test
    knows when a node has work in flight."""

    def __init__(self, folder: str, delay: float) -> None:
        super().__init__(delay)
        self.folder = folder

    def propose(self, states, n):
        import ray

        Path(self.folder, ray.get_runtime_context().get_node_id()).touch()
        return super().propose(states, n)


def main() -> None:
    """``python sweep_fixtures.py ADDRESS BENCH OUT N``: a sweep driver that tests kill with SIGKILL."""
    import sys
    from functools import partial

    from prover.sweep import SweepConfig, run_sweep
    from search import SearchConfig

    address, bench, out, count = sys.argv[1:5]
    names = {f"p{i}": "provable" for i in range(int(count))}
    run_sweep(SweepConfig(workers=2, out=out, address=address), benchmark=bench,
              backend_factory=BackendFactory(names), policy_factory=partial(SlowPolicy, 0.15),
              spec=scripted_spec(SearchConfig(max_expansions=20, time_limit=None)))


if __name__ == "__main__":
    main()


def shared_subgoal(prefix: str, length: int = 6) -> ScriptedEnv:
    """root -> a subgoal every theorem of the family shares -> ``length`` steps -> QED."""
    moves = {f"{prefix}root": {"enter": "x : ℕ\n⊢ S0", "step": f"{prefix}dead"}}
    for i in range(length):
        moves[f"x : ℕ\n⊢ S{i}"] = {"step": f"x : ℕ\n⊢ S{i + 1}", "fin": Fail("not yet")}
    moves[f"x : ℕ\n⊢ S{length}"] = {"fin": QED}
    return ScriptedEnv(root=f"{prefix}root", moves=moves)


class SharedFactory:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __call__(self) -> MultiScriptedBackend:
        return MultiScriptedBackend({name: shared_subgoal(name) for name in self.names})


def shared_policy() -> ScriptedPolicy:
    return ScriptedPolicy({}, default=lambda state: [("enter", -0.1), ("step", -0.2), ("fin", -0.3)])


def unloadable_policy() -> ScriptedPolicy:
    """A policy factory whose model cannot load (what ``HFPolicy`` raises for broken weights)."""
    from prover.policies.hf_policy_config import ModelLoadError

    raise ModelLoadError("/models/broken", "model: the weights are truncated")
