"""Fault-injection and attack figures against real Coq (issue 11): faults injected / survived / results
lost, and attacks tried / blocked / reached Coq / false proofs.

Run: ``python benchmarks/bench_faults.py`` (needs coqtop/coqc; a few minutes on 2 cores). Prints Markdown
tables. Faults, each arm run beside its baseline in the same process:

1. coqtop killed at start-up (a wrapper coqtop from ``tests/fault_fixtures.py`` that dies with SIGKILL
   before printing anything): on the first start of every attempt, and on a random share of all starts.
   An attempt is one ``prove`` (session, search, coqc verification), as a sweep worker runs it; it
   survives when it ends with its verified proof. Baseline: the same with ``start_attempts=1`` (no retry).
2. coqtop killed mid-search (SIGKILL before a share of the policy calls), a tactic that hangs past the
   kill deadline, a tactic that blows up memory: the search must still find the proof the undisturbed
   search finds.
3. ``kill -9`` of a sweep's driver at a random point, then a rerun: results lost or duplicated.

Attacks: every tactic of the attack list (``--attacks MODULE:NAME``, a list of tactic strings, or objects
with ``.tactic``, importable from ``tests/``; default ``ATTACKS_SPEC`` below) is tried on false theorems:
blocked by the safety filter, or sent to coqtop; a proof that ``verify`` accepts is a false proof.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fault_fixtures import flaky_coqtop, start_counts  # noqa: E402

from search import FixedTacticPolicy, SearchConfig, prove  # noqa: E402
from search.backends.coq import CoqBackend, CoqBackendConfig  # noqa: E402
from search.errors import BackendUnavailableError, InvalidTheoremError  # noqa: E402
from search.types import Candidate, ProofFinished, TacticError, TacticTimeout, Theorem  # noqa: E402

logger = logging.getLogger("bench_faults")

ATTACKS_SPEC = "coq_attack_tactics:ATTACK_TACTICS"  # the one place the attack list is read from
SMALL = Theorem("small", "Theorem small : forall n : nat, 0 + n = n.")
SMALL_TACTICS = ("intros n", "reflexivity")
DEEP = Theorem("deep", "Theorem deep : forall n m : nat, n + 0 = n /\\ m = m.",
               "Require Import Arith.\nInductive tr := Lf | Nd (a b : tr).\n"  # HUNGRY: 2^27 tree nodes
               "Fixpoint big (n : nat) : tr := match n with 0 => Lf | S m => Nd (big m) (big m) end.")
DEEP_TACTICS = ("intros n m", "split", "rewrite Nat.add_0_r", "reflexivity")
HANG = "do 1000000000 idtac"
HUNGRY = "let x := eval cbv in (big 27) in idtac"
RETRIED = CoqBackendConfig().start_attempts  # the default tries
FALSE_THEOREMS = (Theorem("attack_false", "Theorem attack_false : False."),
                  Theorem("attack_one_two", "Theorem attack_one_two : 1 = 2."),
                  Theorem("attack_em", "Theorem attack_em : forall P : Prop, P \\/ ~ P."))


@dataclass
class Row:
    """One fault arm: attempts run, faults injected, attempts that survived, results lost."""

    arm: str
    attempts: int = 0
    injected: int = 0
    survived: int = 0
    lost: int = 0
    duplicated: int = 0

    def line(self) -> str:
        rate = self.survived / self.attempts if self.attempts else 0.0
        return (f"| {self.arm} | {self.attempts} | {self.injected} | {self.survived} ({rate:.1%}) | "
                f"{self.lost} | {self.duplicated} |")


def config(**changes) -> SearchConfig:
    return SearchConfig(**{"max_expansions": 30, "tactics_per_node": 8, "time_limit": 120,
                           "tactic_timeout": 5, **changes})


def startup_arm(name: str, attempts: int, folder: Path, *, first_start_dies: bool, die_percent: int,
                start_attempts: int) -> Row:
    """``attempts`` proofs of ``SMALL``, each through a coqtop that dies at start as injected."""
    row = Row(name)
    policy = FixedTacticPolicy(SMALL_TACTICS)
    for i in range(attempts):
        where = folder / name.replace(" ", "-") / (str(i) if first_start_dies else "shared")
        coqtop = flaky_coqtop(where, die_first=int(first_start_dies), die_percent=die_percent)
        before = start_counts(where)[0]
        backend = CoqBackend(CoqBackendConfig(coqtop=str(coqtop), start_attempts=start_attempts))
        try:
            survived = prove(SMALL, backend=backend, policy=policy, config=config()).proved
        except BackendUnavailableError:
            survived = False
        finally:
            backend.close()
        row.attempts += 1
        row.injected += start_counts(where)[0] - before
        row.survived += survived
        row.lost += not survived
    return row


class KillingPolicy:
    """``DEEP_TACTICS`` for every state; before each call after the first, with probability ``share``,
    SIGKILLs the coqtop of the backend's session."""

    def __init__(self, backend: RecordingBackend, share: float, rng: random.Random) -> None:
        self.backend, self.share, self.rng = backend, share, rng
        self.calls = self.kills = 0

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        self.calls += 1
        if self.calls > 1 and self.rng.random() < self.share:
            os.kill(self.backend.sessions[-1].pid, signal.SIGKILL)
            self.kills += 1
        return [[Candidate(t, -0.1 * (i + 1)) for i, t in enumerate(DEEP_TACTICS)][:n] for _ in states]


class RecordingBackend(CoqBackend):
    def __init__(self, config: CoqBackendConfig | None = None) -> None:
        super().__init__(config)
        self.sessions: list = []

    def open(self, theorem: Theorem):
        session = super().open(theorem)
        self.sessions.append(session)
        return session


def search_arm(name: str, searches: int, run: Callable[[int], tuple[bool, int]]) -> Row:
    """``run(i)`` gives (proved the expected proof, faults injected) for search ``i``."""
    row = Row(name)
    for i in range(searches):
        survived, injected = run(i)
        row.attempts += 1
        row.injected += injected
        row.survived += survived
        row.lost += not survived
    return row


def mid_search_kills(searches: int, rng: random.Random, expected: tuple[str, ...]) -> Row:
    def run(_: int) -> tuple[bool, int]:
        backend = RecordingBackend()
        policy = KillingPolicy(backend, 0.5, rng)
        result = prove(DEEP, backend=backend, policy=policy, config=config())
        return result.proved and result.proof.tactics == expected, policy.kills

    return search_arm("coqtop killed mid-search", searches, run)


class CountingSession:
    """A session that counts the runs of one tactic that ended as ``outcome`` (the fault contained)."""

    def __init__(self, session, tactic: str, outcome: type, tally: Counter) -> None:
        self._session, self._tactic, self._outcome, self._tally = session, tactic, outcome, tally

    def run_tactic(self, state, tactic: str, **kwargs):
        result = self._session.run_tactic(state, tactic, **kwargs)
        self._tally["contained"] += tactic == self._tactic and isinstance(result, self._outcome)
        return result

    def __getattr__(self, name: str):
        return getattr(self._session, name)


class CountingBackend(CoqBackend):
    def __init__(self, config: CoqBackendConfig, tactic: str, outcome: type) -> None:
        super().__init__(config)
        self.tactic, self.outcome, self.tally = tactic, outcome, Counter()

    def open(self, theorem: Theorem):
        return CountingSession(super().open(theorem), self.tactic, self.outcome, self.tally)


def bad_tactic_arm(name: str, searches: int, tactic: str, outcome: type, backend_config: CoqBackendConfig,
                   search_config: SearchConfig, expected: tuple[str, ...]) -> Row:
    """Searches whose policy proposes ``tactic`` first everywhere; a fault is injected each time it runs
    and ends as ``outcome`` (a timeout, an error)."""
    def run(_: int) -> tuple[bool, int]:
        backend = CountingBackend(backend_config, tactic, outcome)
        result = prove(DEEP, backend=backend, policy=FixedTacticPolicy((tactic, *DEEP_TACTICS)),
                       config=search_config)
        return result.proved and result.proof.tactics == expected, backend.tally["contained"]

    return search_arm(name, searches, run)


def sweep_kills(trials: int, limit: int, folder: Path, rng: random.Random) -> Row:
    """``kill -9`` of a sweep driver (a subprocess on this script's Ray cluster) after a random number of
    finished results, then a rerun to the end."""
    import ray

    ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    row = Row("kill -9 of the sweep driver, then rerun")
    try:
        for trial in range(trials):
            out = folder / f"sweep-{trial}"
            argv = [sys.executable, "-m", "prover.cli.main", "sweep", "coq_basic", "--backend", "coq",
                    "--policy", "tactics", "--split", "test", "--limit", str(limit), "--workers", "2",
                    "--max-expansions", "6", "--tactic-timeout", "2", "--address", address, "--out", str(out)]
            before = _kill_after(argv, out, rng.randint(1, limit - 2))
            subprocess.run(argv, capture_output=True, timeout=900, check=True)
            after = _records(out)
            names = Counter(r["theorem"] for r in after)
            row.attempts += limit
            row.injected += 1
            row.lost += sum(1 for r in before if r not in after) + limit - len(names)
            row.duplicated += sum(count - 1 for count in names.values())
            row.survived += len(names)
    finally:
        ray.shutdown()
    return row


def _kill_after(argv: list[str], out: Path, results: int) -> list[dict]:
    driver = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 600
    while len(_records(out)) < results and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    return _records(out)


def _records(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    data = path.read_bytes() if path.exists() else b""
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def load_attacks(spec: str, *, raw: bool = False) -> list | None:
    """The attack tactics named by ``MODULE:NAME`` (``raw``: the list's items as they are); ``None`` when
    that module does not exist."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    items = list(getattr(module, attribute))
    return items if raw else [item if isinstance(item, str) else item.tactic for item in items]


def attack(tactics: Sequence[str]) -> dict[str, int]:
    """Each tactic on each false theorem: refused by the filter, or run by coqtop; ``verify`` of the
    one-tactic proof must refuse it."""
    backend = CoqBackend(CoqBackendConfig(tactic_timeout=2))
    counts = Counter()
    for theorem in FALSE_THEOREMS:
        session = backend.open(theorem)
        try:
            for tactic in tactics:
                counts["tried"] += 1
                if backend.check_tactic(tactic) is not None:
                    counts["blocked"] += 1
                    continue
                counts["reached Coq"] += 1
                finished = isinstance(session.run_tactic(session.initial_state(), tactic), ProofFinished)
                counts["finished in the session"] += finished
                counts["false proofs"] += backend.verify(theorem, [tactic]).ok
        finally:
            session.close()
    return dict(counts)


def header_attack(headers: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    """Each (header, false-looking statement, tactic): refused when the theorem opens, or run; ``verify``
    of the proof must refuse it either way."""
    backend = CoqBackend(CoqBackendConfig(tactic_timeout=2))
    counts = Counter()
    for header, statement, tactic in headers:
        theorem = Theorem(statement.split()[1], statement, header)
        counts["tried"] += 1
        try:
            session = backend.open(theorem)
        except InvalidTheoremError:
            counts["blocked"] += 1
        else:
            counts["reached Coq"] += 1
            try:
                finished = isinstance(session.run_tactic(session.initial_state(), tactic), ProofFinished)
                counts["finished in the session"] += finished
            finally:
                session.close()
        counts["false proofs"] += backend.verify(theorem, [tactic]).ok
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--startup-attempts", type=int, default=100, help="proofs per start-up arm")
    parser.add_argument("--die-percent", type=int, default=25, help="share of coqtop starts that die")
    parser.add_argument("--searches", type=int, default=6, help="searches per mid-search fault arm")
    parser.add_argument("--sweep-trials", type=int, default=3, help="sweeps killed with kill -9")
    parser.add_argument("--sweep-limit", type=int, default=6, help="theorems per killed sweep")
    parser.add_argument("--attacks", default=ATTACKS_SPEC, help="MODULE:NAME of the attack tactic list")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    rng = random.Random(args.seed)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        print(fault_table(args, Path(tmp), rng))
    print(attack_table(args.attacks))
    print(f"\n({time.time() - started:.0f} s; {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)")


def fault_table(args: argparse.Namespace, folder: Path, rng: random.Random) -> str:
    n = args.startup_attempts
    expected = prove(DEEP, backend=CoqBackend(), policy=FixedTacticPolicy(DEEP_TACTICS), config=config())
    assert expected.proved, "the undisturbed search must prove DEEP"
    tactics = expected.proof.tactics
    rows = [
        startup_arm(f"first start dies, retried ({RETRIED} tries)", n, folder, first_start_dies=True,
                    die_percent=0, start_attempts=RETRIED),
        startup_arm("first start dies, no retry (baseline)", n, folder, first_start_dies=True,
                    die_percent=0, start_attempts=1),
        startup_arm(f"{args.die_percent}% of starts die, retried ({RETRIED} tries)", n, folder,
                    first_start_dies=False, die_percent=args.die_percent, start_attempts=RETRIED),
        startup_arm(f"{args.die_percent}% of starts die, no retry (baseline)", n, folder,
                    first_start_dies=False, die_percent=args.die_percent, start_attempts=1),
        mid_search_kills(args.searches, rng, tactics),
        bad_tactic_arm("hanging tactic (coqtop killed at its deadline)", args.searches, HANG, TacticTimeout,
                       CoqBackendConfig(coq_timeout=False, kill_grace=0.1), config(tactic_timeout=0.5),
                       tactics),
        bad_tactic_arm("memory blow-up (900 MiB limit)", args.searches, HUNGRY, TacticError,
                       CoqBackendConfig(memory_limit_mb=900), config(tactic_timeout=30), tactics),
        sweep_kills(args.sweep_trials, args.sweep_limit, folder, rng),
    ]
    head = ["| fault | attempts | faults injected | survived | results lost | duplicated |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    return "\n".join(head + [row.line() for row in rows])


def attack_table(spec: str) -> str:
    tactics = load_attacks(spec)
    if tactics is None:
        return f"\nattacks: not run, no attack list at {spec} (module on sys.path: tests/, the repository)"
    keys = ("tried", "blocked", "reached Coq", "finished in the session", "false proofs")
    lines = ["| attacks | " + " | ".join(keys) + " |", "| --- |" + " ---: |" * len(keys)]
    headers = load_attacks(spec.partition(":")[0] + ":SHADOWING_HEADERS", raw=True)
    for label, counts in ((f"{len(tactics)} tactics x {len(FALSE_THEOREMS)} false theorems", attack(tactics)),
                          (f"{len(headers or ())} headers that change a statement's meaning",
                           header_attack(headers or ()))):
        lines.append(f"| {label} | " + " | ".join(str(counts.get(k, 0)) for k in keys) + " |")
    return "\n" + "\n".join(lines)


if __name__ == "__main__":
    main()
