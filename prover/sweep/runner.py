"""``run_sweep``: every theorem of a benchmark through supervised search workers, durably.

Each finished attempt is written (and fsynced) before it counts; a rerun with the same results folder
skips finished work, so a crash or ``kill -9`` of the driver loses nothing but the attempts in flight.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import warnings
from collections import deque
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from prover.parallel.ray_notice import quiet_ray_token_notice
from prover.policies.spec import PolicySpec
from prover.run_spec import RunSpec, Tables, config_table, flatten, render_toml
from prover.sweep.benchmark import BenchmarkItem, load_benchmark, resolve_benchmark
from prover.sweep.beyond_limit import covered, report_limit, uncounted_results
from prover.sweep.cache_report import cache_summary
from prover.sweep.config import SweepConfig
from prover.sweep.freshness import current_records
from prover.sweep.manifest import check_manifest, refuse_foreign_folder
from prover.sweep.progress import run_with_progress
from prover.sweep.report import (
    FINAL,
    SweepSummary,
    budget_of,
    next_attempt,
    report_title,
    summarise,
    write_report,
)
from prover.sweep.store import RESULTS_FILE, ResultStore
from prover.sweep.worker import BackendFactory, PolicyFactory, Task, WorkerSetup, make_record
from prover.theorem_input import InputError

logger = logging.getLogger(__name__)

CONFIG_TITLE = ("The configuration of this sweep. Resume it (or run it again elsewhere) with\n"
                "  prover sweep BENCH --config config.toml --out FOLDER")


def pending_tasks(items: list[BenchmarkItem], records: list[dict[str, Any]], attempts: int) -> deque[Task]:
    """The next attempt of every theorem that is neither proved nor invalid nor out of attempts. An
    attempt that ended in an ``error`` (its worker kept dying, an endpoint stayed down) never reached a
    verdict, so it does not count: a rerun runs it again."""
    done: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        done.setdefault(record["theorem"], []).append(record)
    queue: deque[Task] = deque()
    for item in items:
        runs = done.get(item.theorem.name, [])
        if any(r["status"] in FINAL for r in runs):
            continue
        attempt = next_attempt({r["attempt"] for r in runs if r["status"] != "error"}, attempts)
        if attempt is not None:
            queue.append(Task(item.theorem, item.split, attempt))
    return queue


def rerun_errors(queue: deque[Task], records: list[dict[str, Any]]) -> int:
    """How many of ``queue``'s attempts ended in an error before (and so run again)."""
    errored = {(r["theorem"], r["attempt"]) for r in records if r["status"] == "error"}
    return sum((task.theorem.name, task.attempt) in errored for task in queue)


def check_attempts(records: list[dict[str, Any]], attempts: int, folder: Path) -> None:
    """Refuse (``InputError``) fewer attempts than the folder's results already hold: the report would
    count proofs of attempts beyond the budget it states."""
    held = max((r["attempt"] for r in records if r["status"] != "invalid"), default=0)
    if held > attempts:
        raise InputError(f"{folder} holds results of attempt {held}, more than --attempts {attempts}: resume "
                         f"with --attempts {held} or more, or use another --out")


def by_header(queue: deque[Task]) -> deque[Task]:
    """The queue with theorems of the same header next to each other (in the order headers first appear),
    so that a worker's backend can start the next theorem from the coqtop it keeps for that header."""
    first: dict[str, int] = {}
    for task in queue:
        first.setdefault(" ".join(task.theorem.header.split()), len(first))
    return deque(sorted(queue, key=lambda task: first[" ".join(task.theorem.header.split())]))


def record_known_invalid(items: list[BenchmarkItem], store: ResultStore) -> None:
    """Write an ``invalid`` record, without running it, for each item its benchmark marks as not
    elaborating (e.g. ``coq_8_16``), so that it is counted and reported as invalid, not dropped."""
    done = {r["theorem"] for r in store.records}
    for item in items:
        if item.invalid is not None and item.theorem.name not in done:
            store.append(make_record(Task(item.theorem, item.split, 1), "invalid", message=item.invalid,
                                     worker="driver", policy="not run"))


def connect_ray(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (else ``$RAY_ADDRESS``); with neither, start a local cluster of
    our own. A plain ``ray.init()`` would join any local cluster named in Ray's current-cluster file
    (``/tmp/ray/ray_current_cluster``, written by every ``ray start``): someone else's, with other
    resources and other code. Nothing happens when this process is already connected.

    A cluster that cannot be reached is an ``InputError`` naming the address, where it came from and what
    to do: at once when nothing listens at its port (``check_reachable``), else when the Ray Client
    handshake of a ``ray://`` address times out (Ray's own warning about it is logged at DEBUG, not shown)."""
    import ray

    if ray.is_initialized():
        return
    source = "--address" if address else "$RAY_ADDRESS"
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    check_reachable(address, source=source)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet_ray_token_notice()  # Ray's notice that it secured the local cluster becomes an INFO line
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main_thread else None
    # A local cluster's processes (GCS, raylet, and the workers the raylet starts) inherit SIGTERM blocked:
    # a SIGTERM to the whole process group (SLURM, `timeout`, `kill -- -PGID`) then reaches this driver
    # only, which stops the sweep and shuts the cluster down (SIGKILL after a second); otherwise the GCS
    # died at once and the driver waited 60 s for it before crashing. SIGINT Ray blocks there itself.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}) if address == "local" else None
    try:
        _init_ray(address, source)
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    if handler is not None:  # Ray's own SIGTERM handler aborts the driver with a crash trace: keep ours
        signal.signal(signal.SIGTERM, handler)


def _init_ray(address: str, source: str) -> None:
    """``ray.init`` at ``address``, its Python warnings logged instead of printed as raw ``UserWarning``
    lines; a ``ray://`` handshake that times out (Ray warns, then raises ``ConnectionError``) becomes an
    ``InputError`` naming the address, its warning logged at DEBUG only."""
    import ray

    with warnings.catch_warnings(record=True) as caught:
        try:
            ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)
        except ConnectionError as exc:  # a ray:// address whose Ray Client server never answered, ...
            if address == "local":  # our own cluster did not start: no address to blame
                raise
            for warning in caught:
                logger.debug("Ray warned while connecting to %s: %s", address, warning.message)
            why = str(exc) or type(exc).__name__
            if address.startswith("ray://"):
                why += ": something listens at that port, but no Ray Client server answered"
            raise InputError(unreachable(address, source, why)) from None
        for warning in caught:
            logger.warning("Ray: %s", warning.message)


def check_reachable(address: str, timeout: float = 5.0, *, source: str = "--address") -> None:
    """Refuse (``InputError``) a ``host:port`` or ``ray://host:port`` cluster address nothing answers at
    within ``timeout`` seconds: Ray itself retries a ``host:port`` without end and without a word to the
    user, and a ``ray://`` one for half a minute. ``source`` names where the address came from."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if "://" in target or not host or not port.isdigit():
        return  # "local", "auto", another scheme, no port: Ray's own checks are quick
    if not 0 < int(port) < 65536:
        raise InputError(f"{source} {address}: port {port} is not a TCP port (1 to 65535)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InputError(unreachable(address, source, str(exc.strerror or exc))) from None


def unreachable(address: str, source: str, why: str) -> str:
    """The message for a Ray cluster that cannot be reached at ``address`` (given by ``source``)."""
    if address.startswith("ray://"):
        form = "ray://HEAD:10001, the port of the head's Ray Client server"
    else:
        form = "HEAD:6379, the head's GCS port, e.g. 10.0.0.1:6379"
    if source == "$RAY_ADDRESS":
        local = "unset $RAY_ADDRESS"
    else:
        local = "drop --address" + (" and unset $RAY_ADDRESS" if os.environ.get("RAY_ADDRESS") else "")
    return (f"cannot reach the Ray cluster at {address} ({why}), given by {source}: is its head node running "
            f"(`ray start --head` on it) and the port open from here? Check {source} ({form}), or {local} "
            "to run on a local Ray cluster of its own")


def run_sweep(config: SweepConfig, spec: RunSpec, *, benchmark: str,
              backend_factory: BackendFactory | None = None, policy_factory: PolicyFactory | None = None,
              console: Console | None = None,
              selected: list[BenchmarkItem] | None = None) -> tuple[SweepSummary, dict[str, Path]]:
    """Run (or resume) a sweep of ``benchmark`` with ``spec`` and write its report; returns the summary and
    the report's paths. ``selected``: the benchmark's rows of ``config.split`` when the caller has just
    loaded them (``load_benchmark``), so the file is not read again.

    Every worker gets ``spec`` (``WorkerSetup``) and builds its backend and policy from it (a retrieval
    policy from the index the driver built once: ``share_policy``), unless ``backend_factory`` or
    ``policy_factory`` (a served model's clients, a test's scripted ones) is given.
    The folder records the configuration (``sweep.json``, ``config.toml``); a resume with another one is
    refused (``ConfigMismatchError``). ``config.limit`` bounds what this run attempts; the report covers,
    and the folder records, the largest ``--limit`` ever run there (``report_limit``), so that a resume with
    a smaller one hides no finished result, and notes results the report still cannot count
    (``beyond_limit``)."""
    path = resolve_benchmark(benchmark)
    if selected is None:
        selected = load_benchmark(path, config.split, spec.backend.spec.assistant)
    folder = Path(config.out)
    refuse_foreign_folder(folder)
    warn_if_attempts_repeat(spec, config.attempts)
    imports = spec.policy.required_imports()
    with ResultStore(folder) as store:
        limit = report_limit(folder, config.limit)  # before the manifest is written anew
        items, to_run = selected[:limit], selected[: config.limit]
        tables = sweep_tables(spec, replace(config, limit=limit))
        planner = None if spec.planner is None else spec.planner.label
        manifest: dict[str, Any] = {
            "benchmark": str(path.resolve()), "split": config.split, "search": asdict(spec.search),
            "backend": spec.backend.name, "planner": planner, "attempts": config.attempts,
            "limit": limit, "config": flatten(tables)}
        if imports:
            manifest["imports"] = list(imports)
        check_attempts(store.records, config.attempts, folder)  # before the new settings are written
        check_manifest(folder, manifest, render_toml(tables, spec.commented(), CONFIG_TITLE))
        store.keep(current_records([item.theorem for item in items], store.records, str(folder)))
        record_known_invalid(items, store)
        queue = by_header(pending_tasks(to_run, store.records, config.attempts))
        retried = rerun_errors(queue, store.records)
        if retried:
            logger.warning("%d attempt(s) that ended in errors before will run again", retried)
        names = {item.theorem.name for item in items}
        current = [r for r in store.records if r["theorem"] in names]
        invalid = sum(r["status"] == "invalid" for r in current)
        before = len(current) - invalid
        logger.info("%d theorems, %d attempts to run (%d finished before, %d invalid rows not run)",
                    len(items), len(queue), before, invalid)
        if before and console is not None:
            console.print(f"resuming {folder}: {before} attempt(s) finished before are kept, {len(queue)} "
                          "to run", highlight=False)
        if len(to_run) < len(items):
            note(console, f"--limit {config.limit} runs only the first {len(to_run)} theorem(s); the report "
                          f"of {folder} keeps covering {covered(limit, len(items))}: the largest --limit run "
                          "there, which its config.toml keeps")
        uncounted = uncounted_results(selected, limit, store.records)
        if uncounted:
            note(console, f"{folder}: {uncounted.sentence(RESULTS_FILE)}")
        cache, replaced = None, 0
        if queue:
            setup = WorkerSetup.of(spec, backend=backend_factory, policy=policy_factory)
            cache, replaced = _run_pool(queue, store, to_run, config, console, setup)
        summary = summarise(items, store.records, config.attempts)
        summary.uncounted = uncounted or None
        summary.workers_replaced = replaced
        summary.imports = list(imports)
        summary.cache = cache_summary(folder, store.records, cache) if config.shared_cache else None
        summary.budget = budget_of(asdict(spec.search), config.attempts)
    return summary, write_report(summary, folder, report_title(path, config.split))


def note(console: Console | None, text: str) -> None:
    """A note for the user: on ``console`` when there is one, else logged as a warning."""
    if console is not None:
        console.print(f"[yellow]note:[/] {text}", highlight=False)
    else:
        logger.warning("%s", text)


def warn_if_attempts_repeat(spec: RunSpec, attempts: int) -> bool:
    """Warn (logging) when ``attempts`` > 1 would run one search again and again: the policy draws
    nothing at random (a tactic list, retrieval, greedy decoding) and no sampling planner varies the plans.
    Returns whether it warned."""
    planner = spec.planner
    plans_vary = planner is not None and planner.client.temperature > 0 and planner.client.seed is None
    if attempts <= 1 or spec.policy.samples or plans_vary:
        return False
    logger.warning(
        "--attempts %d with a deterministic policy (%s): every attempt repeats the first one's search, so "
        "pass@%d is pass@1 at %d times the cost; use --attempts 1, or a sampling policy (a model, or an "
        "endpoint with a temperature > 0)", attempts, spec.policy.label, attempts, attempts)
    return True


def sweep_tables(spec: RunSpec, config: SweepConfig) -> Tables:
    """The configuration of a sweep: the spec's tables and the ``sweep`` table."""
    return spec.tables() | {"sweep": config_table(config)}


def _run_pool(queue: deque[Task], store: ResultStore, items: list[BenchmarkItem], config: SweepConfig,
              console: Console | None, setup: WorkerSetup) -> tuple[dict[str, Any] | None, int]:
    """Run the queued attempts on supervised workers sharing one proof cache; return the cache's
    statistics and how many workers had to be replaced."""
    import ray

    from prover.sweep.pool import SupervisedPool
    from prover.sweep.shared_cache import JOURNAL, SharedProofCache, cache_stats, start_cache_actor

    connect_ray(config.address)
    setup = share_policy(setup)
    journal = str((Path(config.out) / JOURNAL).resolve())
    actor = start_cache_actor(journal) if config.shared_cache else None
    client = SharedProofCache(actor) if actor is not None else None
    pool = SupervisedPool(replace(setup, cache=client), size=config.workers, num_cpus=config.worker_cpus,
                          max_retries=config.max_retries)
    stats = None
    try:
        pool.start(len(queue), timeout=config.worker_start_timeout)
        run_with_progress(pool, queue, store, items, config, console)
    finally:
        pool.shutdown()
        if actor is not None:
            try:
                stats = cache_stats(actor)
            except ray.exceptions.RayError as exc:  # never hide the error that ended the sweep
                logger.warning("the shared proof cache did not answer: %s", type(exc).__name__)
            ray.kill(actor)
    return stats, pool.replaced


def share_policy(setup: WorkerSetup) -> WorkerSetup:
    """``setup`` with a policy spec's factory for workers (``PolicySpec.for_workers``: a retrieval index is
    built here once and shared through Ray, not by each worker); a factory given to ``run_sweep`` is kept.
    Raises ``InputError`` for a retrieval corpus with no usable row."""
    if isinstance(setup.policy, PolicySpec):
        return replace(setup, policy=setup.policy.for_workers())
    return setup
