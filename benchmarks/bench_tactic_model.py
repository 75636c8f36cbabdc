"""Held-out tactic prediction of a small transformer trained from nothing on traced proofs through the
product's TRL path, before and after a fixed-time SFT run (issue 15, point 2).

Data: the (state, tactic) rows of a traced dataset (``prover trace --out DATASET``), split by file with the
project's fixed split (``prover.expert.read_pair_split``, as the retrieval loop's tactic model reads it):
train files train, test files are held out (``valid`` files are not used). ``--pairs FILE`` adds
expert-iteration ``pairs.jsonl`` rows to the training data, minus any whose state is a held-out state.
Training pairs are de-duplicated on (state, tactic) as the loop does (``union_pairs``).

Model: ``prover.expert.build_small_model``: a byte-level BPE trained on the training pairs' text (never on
held-out text) and a randomly initialised Qwen2 of ``--preset``'s shape (``prover.expert.PRESETS``:
``tiny``: 2 layers, hidden 64, for a loaded CPU; ``cpu``: 2 layers, hidden 128; ``gpu``: 8 layers, hidden
512). Training: ``train_sft`` (TRL, loss on the tactic and EOS) with ``TrainConfig.max_seconds =
--train-seconds``, the preset's recipe: a constant learning rate after a warm-up of a few steps (a run cut
by time never reaches the end of a decaying schedule; the warm-up is short so that a slow CPU run reaches
the peak rate). Pairs longer than ``--max-length`` tokens
(prompt, tactic, EOS) are not trained on.

Evaluation (``prover.expert.evaluate_tactics``), on ``--eval-pairs`` held-out rows taken as every n-th row
of the test files in trace order (as ``bench_retrieval.py`` samples), the same rows before and after: mean
NLL per tactic token (and EOS), its perplexity, and the NLL per tactic (comparable across tokenizers) over
the rows whose prompt fits ``--max-length`` minus ``--max-new-tokens``; top-1 and top-k accuracy of
``k``-beam search (exact match, whitespace-normalised), over those rows and over all sampled rows (a row
too long for the model counts as a miss). Baselines on the same rows in the same process: the ``k`` most
frequent training tactics proposed for every state, and the retrieval policy (``prover.retrieval``, index
of the training pairs, default settings).

CPU (the default; 13 minutes on the shared 2-core box, 5 of them training):
    python benchmarks/bench_tactic_model.py --trace DATASET --json benchmarks/results/tactic_model_cpu.json
GPU (``benchmarks/device_run.sh`` runs it):
    python benchmarks/bench_tactic_model.py --trace DATASET --preset gpu --train-seconds 240 ...
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.model_loading import load_causal_lm  # noqa: E402
from prover.expert import (  # noqa: E402
    PRESETS,
    TrainConfig,
    build_small_model,
    encode_pair,
    evaluate_tactics,
    every_nth,
    read_pair_split,
    train_sft,
)
from prover.expert.pair_split import Pair  # noqa: E402
from prover.expert.tactic_eval import normalise_tactic  # noqa: E402
from prover.tracing.dataset import DatasetError  # noqa: E402

logger = logging.getLogger("bench_tactic_model")

def frequency_baseline(train: list[Pair], sample: list[Pair], k: int) -> dict[str, float]:
    """The ``k`` most frequent training tactics, the same list for every state."""
    top = [normalise_tactic(t) for t, _ in Counter(t for _, t in train).most_common(k)]
    targets = [normalise_tactic(t) for _, t in sample]
    return {"top1": sum(t == top[0] for t in targets) / len(sample),
            "topk": sum(t in top for t in targets) / len(sample), "tactics": top}


def retrieval_baseline(train: list[Pair], sample: list[Pair], k: int) -> dict[str, float]:
    """The retrieval policy's first ``k`` proposals (index of the training pairs, default settings)."""
    from prover.retrieval import RetrievalConfig, RetrievalIndex, RetrievalPolicy
    from search.backends.coq.safety import check_coq_tactic

    index = RetrievalIndex.from_pairs(train, lambda t: check_coq_tactic(t) is None)
    policy = RetrievalPolicy(index, RetrievalConfig())
    hits_1 = hits_k = 0
    for start in range(0, len(sample), 64):
        batch = sample[start : start + 64]
        for (_, tactic), candidates in zip(batch, policy.propose([s for s, _ in batch], k), strict=True):
            proposed = [normalise_tactic(c.tactic) for c in candidates]
            hits_1 += bool(proposed) and proposed[0] == normalise_tactic(tactic)
            hits_k += normalise_tactic(tactic) in proposed
    return {"top1": hits_1 / len(sample), "topk": hits_k / len(sample)}


def evaluate(model_dir: Path, sample: list[Pair], args: argparse.Namespace, device: str) -> dict[str, Any]:
    model, tokenizer = load_causal_lm(str(model_dir), device=device, dtype="float32" if device == "cpu"
                                      else "bfloat16", require_eos=True)
    result = evaluate_tactics(model, tokenizer, sample, k=args.k, batch_size=args.eval_batch,
                              max_new_tokens=args.max_new_tokens,
                              max_prompt_tokens=args.max_length - args.max_new_tokens)
    logger.info("evaluated %s: %s", model_dir.name, result)
    return result.summary()


def fitting(pairs: list[Pair], model_dir: Path, max_length: int) -> list[Pair]:
    """The pairs whose prompt, tactic and EOS fit ``max_length`` tokens of the model's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return [p for p in pairs if len(encode_pair(tokenizer, *p).ids) <= max_length]


def train(base: Path, pairs: list[Pair], work: Path, args: argparse.Namespace, device: str) -> dict[str, Any]:
    preset = PRESETS[args.preset]
    config = TrainConfig(
        epochs=1000.0, max_seconds=args.train_seconds, learning_rate=args.lr or preset.learning_rate,
        lr_scheduler="constant_with_warmup", warmup=preset.warmup,
        batch_size=args.batch_size or preset.batch_size,
        max_length=args.max_length, gradient_checkpointing=False, device=device, save_steps=10**6,
        logging_steps=100, seed=args.seed)
    rows = [{"state": s, "tactic": t} for s, t in pairs]
    result = train_sft(rows, init_model=str(base), work_dir=work / "sft", final_dir=work / "trained",
                       config=config)
    return {"config": asdict(config), "result": asdict(result)}


def machine(device: str) -> dict[str, Any]:
    info = {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "device": device,
            "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    split = read_pair_split(args.trace, args.pairs)
    train_pairs, counts = split.train, dict(split.counts)
    sample = every_nth(split.heldout, args.eval_pairs)
    started = time.perf_counter()
    base = build_small_model(train_pairs, work / "base", PRESETS[args.preset].shape, seed=args.seed)
    build_s = time.perf_counter() - started
    trainable = fitting(train_pairs, base, args.max_length)
    counts |= {"train_pairs_fitting": len(trainable), "eval_rows": len(sample)}
    out: dict[str, Any] = {"date": date.today().isoformat(), "machine": machine(device), "counts": counts,
                           "preset": args.preset, "settings": {k: str(v) if isinstance(v, Path) else v
                                                               for k, v in vars(args).items()},
                           "model": json.loads((base / "small_model.json").read_text()),
                           "build_seconds": round(build_s, 1)}
    out["baselines"] = {"frequency": frequency_baseline(train_pairs, sample, args.k),
                        "retrieval": retrieval_baseline(train_pairs, sample, args.k)}
    out["before"] = evaluate(base, sample, args, device)
    out["training"] = train(base, trainable, work, args, device)
    out["load_after_training"] = machine(device)["load_average_1_5_15_min"]
    out["after"] = evaluate(work / "trained", sample, args, device)
    return out


def report(out: dict[str, Any]) -> str:
    k = out["settings"]["k"]
    lines = [f"| model | NLL/token | perplexity | NLL/tactic | top-1 | top-{k} | top-1 (all rows) "
             f"| top-{k} (all rows) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in ("before", "after"):
        m = out[name]
        lines.append(f"| {name} | {m['nll']:.3f} | {m['perplexity']:.2f} | {m['nll_per_tactic']:.2f} "
                     f"| {m['top1']:.1%} | {m['topk']:.1%} "
                     f"| {m['top1_all']:.1%} | {m['topk_all']:.1%} |")
    for name, m in out["baselines"].items():
        lines.append(f"| {name} baseline | | | | | | {m['top1']:.1%} | {m['topk']:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trace", type=Path, required=True, help="a traced dataset folder")
    parser.add_argument("--pairs", type=Path, nargs="*", default=[], help="extra pairs.jsonl training rows")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--train-seconds", type=float, default=300.0)
    parser.add_argument("--eval-pairs", type=int, default=300)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--eval-batch", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="folder for the models (default: temporary)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            out = run(args, args.work or Path(scratch))
        except (DatasetError, ValueError) as exc:  # not a traced dataset, a used --work folder ...
            parser.error(str(exc))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("counts", "model", "machine")}, indent=1))
    print(f"training: {out['training']['result']}")
    print(report(out))


if __name__ == "__main__":
    main()
