"""The expert-iteration loop: per round, sweep -> collect -> filter -> train; the next round sweeps with the
model the last one trained.

Run folder (``ExpertConfig.out``)::

    run.json                      the benchmark and base model (a rerun must match them)
    round-01/sweep/               the sweep's durable results (a rerun of the stage resumes it)
    round-01/minimised/           with ``minimise_proofs``: the sweep's records, proofs made 1-minimal
    round-01/data/                pairs.jsonl, preferences.jsonl, manifest.json
    round-01/filter/              scores.jsonl, kept.jsonl, preferences.jsonl, manifest.json
    round-01/train/               resumable checkpoints (sft/, dpo/)
    round-01/model/               the round's model and tokenizer, complete once present
    round-01/<stage>.done.json    the stage's summary, written after its outputs
    report.md, report.json, report.png

Every stage is skipped when its marker exists, so a rerun after a crash (or with a larger ``rounds``) redoes
only what did not finish. The model of round r is round r-1's ``model`` (round 1: the base model); round r's
pairs are scored under that model. Every ``retrain_every``-th round trains the base model on the union of
all rounds' kept pairs; other rounds continue training the current model on the round's kept pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from planner.model_loading import load_tokenizer
from prover.expert.config import ExpertConfig
from prover.expert.filtering import REASONS, filter_pairs
from prover.expert.minimised_records import MINIMISED_DIR, minimise_folder
from prover.expert.perplexity import encode_pair, load_scorer, log_perplexities
from prover.expert.report import ExpertReport, collect_metrics, write_report
from prover.expert.run_manifest import check_run as check_manifest
from prover.expert.stages import require_stage, round_dir, run_stage, write_json, write_jsonl
from prover.expert.training import free_accelerator_memory, train_dpo, train_sft
from prover.expert.trajectories import (
    MANIFEST_FILE,
    PAIRS_FILE,
    PREFERENCES_FILE,
    collect_trajectories,
    drop_contradicted,
    load_rows,
    union_pairs,
    write_trajectories,
)
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.spec import PolicySpec
from prover.run_spec import RunSpec
from prover.sweep import SweepConfig, load_benchmark, resolve_benchmark, run_sweep
from prover.sweep.errors import require_no_errors
from prover.sweep.freshness import benchmark_digest
from prover.sweep.memory_budget import apply_memory_budget
from prover.sweep.worker import BackendFactory
from search import SearchConfig

logger = logging.getLogger(__name__)

KEPT_FILE = "kept.jsonl"
SCORES_FILE = "scores.jsonl"


@dataclass(frozen=True, kw_only=True)
class ExpertRun:
    """What the loop works on besides its settings.

    ``spec`` sweeps round 1 (its policy a model, or a fixed tactic list to bootstrap without one); later
    rounds sweep with ``model_policy``'s settings and the previous round's model, with ``model_search``
    (default: the spec's search). ``sweep.out`` is replaced by each round's folder. With ``spec.server``,
    a model round's sweep starts that many batching policy servers (one per GPU) for its workers and
    stops them after; without, each worker loads the model itself. ``backend_factory`` replaces the
    spec's backend (a test's scripted one); it must be picklable (it is sent to Ray workers)."""

    benchmark: str
    spec: RunSpec
    model_policy: HFPolicyConfig
    sweep: SweepConfig
    model_search: SearchConfig | None = None
    backend_factory: BackendFactory | None = None

    def spec_for_round(self, round_number: int, model: str) -> RunSpec:
        """The spec round ``round_number`` sweeps with: round 1's own, then ``model``'s."""
        if round_number == 1:
            return self.spec
        model_policy = replace(self.model_policy, model=model)
        policy = PolicySpec("model", self.spec.policy.assistant, model=model_policy)
        return replace(self.spec, policy=policy, search=self.model_search or self.spec.search)


def base_model(config: ExpertConfig, run: ExpertRun) -> str:
    """The base model: a local folder by its absolute path (``base`` and ``$PWD/base`` are one run's), a
    hub id as given."""
    name = config.base_model or run.model_policy.model
    local = Path(name).expanduser()
    return str(local.resolve()) if local.is_dir() else name


def model_for_round(out: Path, round_number: int, base: str) -> str:
    """The model round ``round_number`` sweeps and scores with: the previous round's (its ``model/``
    folder, found from ``out`` so that a moved or copied run folder uses its own), the one before it when
    that round trained nothing, or the base model."""
    if round_number == 1:
        return base
    previous = round_dir(out, round_number - 1)
    if require_stage(previous, "train", f"round {round_number}").get("mode") == "skipped":
        return model_for_round(out, round_number - 1, base)
    return str(previous / "model")


def check_run(out: Path, manifest: dict[str, Any]) -> None:
    """Write ``run.json``, or check that the existing one has the same benchmark and base model (the
    rest may change between resumes); raises ``RunMismatchError``."""
    check_manifest(out, manifest, keys=("benchmark", "base_model", "benchmark_digest"))


def sweep_stage(run: ExpertRun, folder: Path, spec: RunSpec, console: Console | None, *,
                evaluation: bool = False) -> dict[str, Any]:
    """Run (or resume) the round's sweep with ``spec``; return its summary, which says whether it is the
    final model's ``evaluation`` (what ``prover report`` reads)."""
    sweep = replace(run.sweep, out=str(folder / "sweep"))
    backend_config = spec.backend.config if run.backend_factory is None else None
    sweep, budget = apply_memory_budget(sweep, spec.backend.name, backend_config, spec.driver.sessions)
    if budget.lowered:
        logger.warning("memory: %s", budget.message())
    served = None
    if spec.policy.model is not None and spec.server is not None:
        from prover.parallel.policy_server import serve_model
        from prover.sweep.runner import connect_ray

        connect_ray(sweep.address)
        served = serve_model(spec.policy.model, spec.server, spec.policy.label)
    try:
        summary, paths = run_sweep(sweep, spec, benchmark=run.benchmark, backend_factory=run.backend_factory,
                                   policy_factory=served, console=console)
    finally:
        if served is not None:
            served.shutdown()
    require_no_errors(summary.errors, sweep.out)  # not done: a rerun runs the errored attempts again
    return {"policy": spec.policy.label, "folder": sweep.out, "theorems": summary.total,
            "valid": summary.total - summary.invalid, "proved": summary.proved,
            "pass_rate": summary.pass_rate, "errors": summary.errors, "pending": summary.pending,
            "report": str(paths["markdown"]), "evaluation": evaluation}


def minimise_stage(run: ExpertRun, folder: Path, spec: RunSpec) -> dict[str, Any]:
    """The round's sweep records with their proofs made 1-minimal into ``minimised/``
    (``prover.expert.minimised_records``); return the counts. The theorems are read for the run's proof
    assistant, as the sweep read them (a Coq statement without its comments), so that the backend opens
    the statement the proofs were found for."""
    items = load_benchmark(resolve_benchmark(run.benchmark), run.sweep.split,
                           run.spec.backend.spec.assistant)
    theorems = {item.theorem.name: item.theorem for item in items}
    backend = run.backend_factory() if run.backend_factory is not None else spec.backend()
    return minimise_folder(folder / "sweep", folder / MINIMISED_DIR, theorems, backend,
                           timeout=spec.search.tactic_timeout)


def collect_stage(folder: Path, round_number: int, *, minimised: bool = False) -> dict[str, Any]:
    """Pairs and preferences from the round's sweep (its minimised records with ``minimised``) into
    ``data/``; return the manifest."""
    sources = [folder / (MINIMISED_DIR if minimised else "sweep")]
    data = collect_trajectories(sources, round_number=round_number)
    return write_trajectories(data, folder / "data", round_number=round_number, sources=sources)


def scoring_length(config: ExpertConfig) -> int:
    """The longest pair the filter keeps: no longer than training takes one whole, so that no kept pair is
    trained cut before its EOS."""
    return min(config.filter.max_length, config.train.max_length)


def filter_stage(config: ExpertConfig, folder: Path, round_number: int, model: str) -> dict[str, Any]:
    """Score the round's pairs under ``model``, keep the learnable ones; write ``filter/``.

    A preference is kept when its chosen pair is (or was dropped only as too easy) and its (state, rejected)
    fits the scoring length as well: DPO would compare a whole chosen tactic with a cut rejected one."""
    pairs = load_rows(folder / "data" / PAIRS_FILE)
    preferences = load_rows(folder / "data" / PREFERENCES_FILE)
    scores: list[float | None] = []
    tokenizer = None
    if pairs:
        scorer, tokenizer = load_scorer(model, config.filter.device)
        scores = log_perplexities(scorer, tokenizer, [(p["state"], p["tactic"]) for p in pairs],
                                  batch_size=config.filter.batch_size, max_length=scoring_length(config))
        del scorer
        free_accelerator_memory()
    outcome = filter_pairs(pairs, scores, config.filter)
    dropped = {(r["state"], r["tactic"]) for reason in ("noisy", "too_long") for r in outcome.dropped[reason]}
    chosen_kept = [p for p in preferences if (p["state"], p["chosen"]) not in dropped]
    if chosen_kept and tokenizer is None:
        tokenizer = load_tokenizer(model, require_eos=True)
    length = scoring_length(config)
    kept_preferences = [p for p in chosen_kept if tokenizer is not None
                        and len(encode_pair(tokenizer, p["state"], p["rejected"]).ids) <= length]
    rejected_too_long = len(chosen_kept) - len(kept_preferences)
    if rejected_too_long:
        logger.warning("round %d: %d preference pairs dropped: their state and rejected tactic are longer "
                       "than %d tokens", round_number, rejected_too_long, length)
    out = folder / "filter"
    write_jsonl(out / SCORES_FILE, outcome.rows)
    write_jsonl(out / KEPT_FILE, outcome.kept)
    write_jsonl(out / PREFERENCES_FILE, kept_preferences)
    manifest = {"round": round_number, "model": model, **outcome.summary,
                "preferences": {"collected": len(preferences), "kept": len(kept_preferences),
                                "dropped": {"chosen_dropped": len(preferences) - len(chosen_kept),
                                            "rejected_too_long": rejected_too_long}}}
    write_json(out / MANIFEST_FILE, manifest)
    thresholds = outcome.summary["thresholds"]
    return {"model": model, "pairs": len(pairs), "kept": len(outcome.kept),
            "dropped": {reason: len(outcome.dropped[reason]) for reason in REASONS},
            "easy_perplexity": thresholds and thresholds["easy_perplexity"],
            "noisy_perplexity": thresholds and thresholds["noisy_perplexity"],
            "preferences_kept": len(kept_preferences), "preferences_rejected_too_long": rejected_too_long}


def training_data(config: ExpertConfig, out: Path, round_number: int,
                  ) -> tuple[bool, list[dict[str, Any]], list[dict[str, Any]]]:
    """(retrain from base?, pairs, preferences): this round's kept data, or every round's so far; either
    way the preferences lose those whose rejected tactic is a collected pair (at that state) of any round
    so far (``drop_contradicted``)."""
    retrain = config.retrain_every > 0 and round_number % config.retrain_every == 0
    rounds = range(1, round_number + 1) if retrain else [round_number]
    folders = [round_dir(out, r) / "filter" for r in rounds]
    pairs = union_pairs(load_rows(f / KEPT_FILE) for f in folders)
    preferences = union_pairs((load_rows(f / PREFERENCES_FILE) for f in folders),
                              key_fields=("state", "chosen", "rejected"))
    if round_number > 1:  # each round's were checked against its own pairs when collected; now against
        # every round's so far: a tactic that proved a state in an earlier round (and was trained on) is no
        # rejected one there now, in continue mode too (SFT must not raise what DPO lowers)
        collected = [row for r in range(1, round_number + 1)
                     for row in load_rows(round_dir(out, r) / "data" / PAIRS_FILE)]
        preferences = drop_contradicted(preferences, collected)
    return retrain, pairs, preferences


def train_stage(config: ExpertConfig, out: Path, folder: Path, round_number: int, current: str,
                base: str) -> dict[str, Any]:
    """Train the round's model into ``model/``; with no kept pairs the current model carries over."""
    retrain, pairs, preferences = training_data(config, out, round_number)
    init = base if retrain else current
    info: dict[str, Any] = {"mode": "retrain_from_base" if retrain else "continue", "init_model": init,
                            "pairs": len(pairs), "preferences": len(preferences)}
    if not pairs:
        logger.warning("round %d: no kept pairs; the model %s carries over", round_number, current)
        return info | {"mode": "skipped", "model": current, "train_loss": None, "steps": 0}
    final = folder / "model"
    dpo = config.train.dpo and bool(preferences)
    sft = train_sft(pairs, init_model=init, work_dir=folder / "train" / "sft",
                    final_dir=folder / "train" / "sft-model" if dpo else final, config=config.train)
    info |= {"sft": asdict(sft), "train_loss": sft.train_loss, "steps": sft.steps}
    if dpo:
        result = train_dpo(preferences, init_model=sft.model_dir, work_dir=folder / "train" / "dpo",
                           final_dir=final, config=config.train)
        info |= {"dpo": asdict(result), "dpo_loss": result.train_loss}
    return info | {"model": str(final)}


def run_round(config: ExpertConfig, run: ExpertRun, out: Path, round_number: int, base: str,
              console: Console | None) -> None:
    """The stages of one round, each skipped if already done."""
    folder = round_dir(out, round_number)
    current = model_for_round(out, round_number, base)
    spec = run.spec_for_round(round_number, current)
    run_stage(folder, "sweep", lambda: sweep_stage(run, folder, spec, console))
    minimised = config.minimise_proofs
    if minimised:
        run_stage(folder, "minimise", lambda: minimise_stage(run, folder, spec))
    run_stage(folder, "collect", lambda: collect_stage(folder, round_number, minimised=minimised))
    run_stage(folder, "filter", shown(console, f"round {round_number}: scoring and filtering the collected "
                                      "pairs", lambda: filter_stage(config, folder, round_number, current)))
    train = config.train
    limits = [f"{train.epochs:g} epoch(s)" if train.max_steps is None else f"at most {train.max_steps} steps"]
    limits += [] if train.max_seconds is None else [f"at most {train.max_seconds:g} s"]
    run_stage(folder, "train", shown(console, f"round {round_number}: training ({', '.join(limits)})",
                                     lambda: train_stage(config, out, folder, round_number, current, base)))


def shown(console: Console | None, text: str,
          stage: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``stage`` run under a spinner saying ``text`` (minutes of scoring or training otherwise pass without a
    word after the sweep's bar), or as it is without a console."""
    if console is None:
        return stage

    def run() -> dict[str, Any]:
        with console.status(text):
            result = stage()
        console.print(f"{text}: done", highlight=False)
        return result

    return run


def run_expert_iteration(config: ExpertConfig, run: ExpertRun, *,
                         console: Console | None = None) -> ExpertReport:
    """Run (or resume) ``config.rounds`` rounds, then the final evaluation sweep; write the report.

    Raises ``RunMismatchError`` for a run folder of another run, ``InputError`` for a bad benchmark,
    ``ModelLoadError`` when a model cannot load, ``BackendUnavailableError`` from the sweeps."""
    out = Path(config.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base = base_model(config, run)
    path = resolve_benchmark(run.benchmark)
    items = load_benchmark(path, run.sweep.split, run.spec.backend.spec.assistant)  # --limit may change
    check_run(out, {"benchmark": str(path.resolve()), "base_model": base,
                    "backend": run.spec.backend.name, "first_policy": run.spec.policy.label,
                    "benchmark_digest": benchmark_digest([item.theorem for item in items])})
    for round_number in range(1, config.rounds + 1):
        run_round(config, run, out, round_number, base, console)
    if config.evaluate_final:
        final = config.rounds + 1
        folder = round_dir(out, final)
        spec = run.spec_for_round(final, model_for_round(out, final, base))
        run_stage(folder, "sweep", lambda: sweep_stage(run, folder, spec, console, evaluation=True))
    metrics = collect_metrics(out, config.rounds, evaluation=config.evaluate_final)
    return ExpertReport(rounds=metrics, paths=write_report(metrics, out, Path(run.benchmark).stem))
