"""Client overhead per tactic round trip of the Lean REPL backend, against the fake REPL process.

Lean's own time is taken out by measuring against a baseline in the same run: raw pipe round trips (write
the same request bytes, read up to the blank line, nothing parsed) to another instance of the same fake
REPL. What the client adds on top of that is its overhead:

- ``process``: ``ReplProcess.tactic`` + ``tactic_outcome`` (encode, framing, memory watch, JSON parse,
  typed answer, classification);
- ``session``: ``LeanReplSession.run_tactic`` (the above plus pool loan, state lookup, handle).

Target: under 1 ms per round trip. Run: ``python benchmarks/bench_repl.py [--rounds N] [--repeats K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from search.backends.lean import LeanReplBackend, LeanReplConfig, ReplProcess, tactic_outcome
from search.backends.lean.repl_messages import encode_request, tactic_request
from search.backends.lean.repl_theorem import open_theorem
from search.types import TacticState, Theorem

ROOT = Path(__file__).resolve().parents[1]
FAKE_REPL = ROOT / "tests" / "search" / "backends" / "fakes" / "fake_repl.py"
STATEMENT = "theorem bench (a b c : ℕ) (h₀ : a + b = c) (h₁ : 0 < a ∧ 0 < b) : c > 0 :="


def world(goal_bytes: int) -> dict[str, object]:
    """A theorem whose goal is about ``goal_bytes`` long (hypotheses added), and ``skip`` on it."""
    lines = ["a b c : ℕ", "h₀ : a + b = c", "h₁ : 0 < a ∧ 0 < b"]
    while len("\n".join(lines).encode()) < goal_bytes:
        lines.append(f"h{len(lines)} : a * {len(lines)} + b ≤ c * {len(lines)} + (a + b) ^ 2")
    goal = "\n".join([*lines, "⊢ c > 0"])
    return {"theorems": [{"statement": STATEMENT, "goal": goal}], "transitions": {goal: {"skip": [goal]}}}


def per_call_us(call: Callable[[], object], rounds: int) -> float:
    for _ in range(min(200, rounds)):  # warm up
        call()
    started = time.perf_counter()
    for _ in range(rounds):
        call()
    return (time.perf_counter() - started) / rounds * 1e6


def raw_round_trip(argv: list[str]) -> tuple[Callable[[], object], Callable[[], None]]:
    """A bare pipe client: same bytes out, read to the blank line, no parsing."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin.fileno(), proc.stdout.fileno()
    os.write(stdin, encode_request({"cmd": ""}).encode())
    opened = json.dumps({"cmd": STATEMENT + " by sorry", "env": 0}) + "\n\n"
    buffer = bytearray()

    def exchange(payload: bytes) -> bytes:
        os.write(stdin, payload)
        while b"\n\n" not in buffer:
            buffer.extend(os.read(stdout, 1 << 16))
        end = buffer.index(b"\n\n") + 2
        answer = bytes(buffer[:end])
        del buffer[:end]
        return answer

    exchange(b"")  # the header's answer
    assert b'"proofState": 0' in exchange(opened.encode())
    request = encode_request(tactic_request("skip", 0)).encode()
    assert b'"goals"' in exchange(request)

    def close() -> None:
        proc.kill()
        proc.wait()

    return lambda: exchange(request), close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3000, help="round trips per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per client (median kept)")
    parser.add_argument("--goal-bytes", type=int, default=0, help="size of the pretty-printed goal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.json"
        path.write_text(json.dumps(world(args.goal_bytes)))
        argv = [sys.executable, str(FAKE_REPL), "--script", str(path)]
        config = LeanReplConfig(project_dir=tmp, command=tuple(argv), recycle_after=None)
        raw, close_raw = raw_round_trip(argv)
        theorem = Theorem("bench", STATEMENT)
        proc = ReplProcess(config)
        proc.start()
        opened = open_theorem(proc, theorem, config).proof_state
        assert opened is not None
        proc_call = lambda: tactic_outcome(proc.tactic("skip", opened, timeout=10))  # noqa: E731
        assert isinstance(proc_call(), TacticState)
        backend = LeanReplBackend(config)
        session = backend.open(theorem)
        root = session.initial_state()
        assert isinstance(session.run_tactic(root, "skip"), TacticState)
        clients = {"raw pipe (baseline)": raw, "process": proc_call,
                   "session": lambda: session.run_tactic(root, "skip")}
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.repeats):  # interleaved, so drift hits every client alike
            for name, call in clients.items():
                samples[name].append(per_call_us(call, args.rounds))
        close_raw()
        proc.close()
        backend.close()
    report(samples, args)


def report(samples: dict[str, list[float]], args: argparse.Namespace) -> None:
    baseline = statistics.median(samples["raw pipe (baseline)"])
    print(f"# REPL client overhead ({args.rounds} round trips x {args.repeats}, median; goal of "
          f">= {args.goal_bytes} bytes; {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    print(f"{'client':<22}{'us/round trip':>15}{'overhead us':>13}{'ratio':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<22}{median:>15.1f}{median - baseline:>13.1f}{median / baseline:>8.2f}")
    worst = max(statistics.median(v) for v in samples.values()) - baseline
    print(f"target: overhead < 1000 us per round trip: {'met' if worst < 1000 else 'MISSED'}")


if __name__ == "__main__":
    main()
