"""Training throughput of the step prover's SFT: TRL's trainer (configured by ``prover.expert``) against a
plain forward/backward/AdamW loop, in one process, on the same data.

Issue 6, point 6. The model is built from a config with random weights: Qwen2.5-1.5B's shapes (hidden 1536,
28 layers, 12 heads, 2 KV heads, intermediate 8960, vocab 151936, tied embeddings; ~1.54B parameters) on a
GPU, or a tiny Qwen2 on CPU with ``--small``. The data are synthetic (state, tactic) pairs of exact token
lengths (a word-level tokenizer: one word, one token): a ``prompt-tokens``-token prompt ``"{state}:::"`` and a
``tactic-tokens``-token completion (the tactic and its EOS), so every sequence has the same length and no
padding; the loss is on the completion only, in both paths.

Variants, each on a freshly built model:
- ``loop``: the baseline. ``torch.optim.AdamW`` (fused on CUDA), float32 master weights, bf16 autocast on
  CUDA (float32 on CPU), no activation checkpointing; labels -100 on the prompt.
- ``trl``: ``prover.expert.training.sft_trainer_for`` (TRL ``SFTTrainer``, prompt/completion format, bf16
  mixed precision on CUDA), activation checkpointing off: the trainer's own overhead against ``loop``.
- ``trl+ckpt``: the same with activation checkpointing, ``TrainConfig``'s default (memory for speed).
- ``trl-bf16``: pure bf16 weights (``--train-weight-dtype bfloat16``), no checkpointing (GPU only).

Step time: the median interval between consecutive step ends (synchronised), after ``--warmup`` steps; it
includes data loading, the optimiser and the trainer's per-step bookkeeping. tokens/s counts every token of
the batch (prompt included: it is computed forward and backward). MFU = 6 * parameters * tokens/s / peak
FLOP/s (``--peak-flops``; default 989e12, H100 SXM / H200 bf16 dense); it leaves out attention's
sequence-quadratic FLOPs, so it slightly understates the hardware's work.

Run on a GPU (about 2 minutes on an H100):  python benchmarks/bench_training.py [--json results.json]
CPU smoke test with the tiny model:          python benchmarks/bench_training.py --small
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import transformers
from random_models import random_qwen2
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, TrainerCallback

from prover.expert.config import TrainConfig
from prover.expert.perplexity import encode_pair
from prover.expert.training import quiet_progress, sft_trainer_for

logger = logging.getLogger("bench_training")
H100_BF16_DENSE = 989e12


@dataclass(frozen=True)
class Workload:
    """``batch`` sequences per step of ``prompt_tokens + tactic_tokens`` tokens; ``steps`` timed steps after
    ``warmup`` untimed ones."""

    batch: int
    prompt_tokens: int
    tactic_tokens: int
    steps: int
    warmup: int

    @property
    def seq_len(self) -> int:
        return self.prompt_tokens + self.tactic_tokens

    @property
    def tokens_per_step(self) -> int:
        return self.batch * self.seq_len


@dataclass
class Measurement:
    variant: str
    step_seconds: float | None = None
    tokens_per_s: float | None = None
    mfu: float | None = None
    peak_memory_gib: float | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    error: str | None = None
    step_times: list[float] = field(default_factory=list)


def qwen25_15b_config() -> Qwen2Config:
    """Qwen2.5-1.5B's shapes (random weights)."""
    return Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                       num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,
                       rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)


def tiny_config() -> Qwen2Config:
    """A tiny Qwen2 for the CPU run."""
    return Qwen2Config(vocab_size=2048, hidden_size=128, intermediate_size=512, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                       tie_word_embeddings=True)


def word_tokenizer(words: int) -> PreTrainedTokenizerFast:
    """One token per word ``w0 .. w{words-1}``, one for ``:::``; EOS, PAD and UNK specials."""
    vocab = {"<unk>": 0, "<pad>": 1, "<eos>": 2, ":::": 3} | {f"w{i}": 4 + i for i in range(words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>")


def synthetic_pairs(workload: Workload, count: int, words: int, seed: int = 0) -> list[dict[str, str]]:
    """Pairs whose prompt ``"{state}:::"`` has ``prompt_tokens`` tokens and whose tactic + EOS has
    ``tactic_tokens``."""
    rng = torch.Generator().manual_seed(seed)

    def text(length: int) -> str:
        return " ".join(f"w{int(i)}" for i in torch.randint(0, words, (length,), generator=rng))

    return [{"state": text(workload.prompt_tokens - 1), "tactic": " " + text(workload.tactic_tokens - 1)}
            for _ in range(count)]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def summarise(m: Measurement, ends: list[float], workload: Workload, params: int,
              peak: float | None, device: torch.device) -> Measurement:
    """Median step interval after the warm-up steps; tokens/s and MFU from it."""
    intervals = [b - a for a, b in itertools.pairwise(ends)][workload.warmup - 1 :]
    m.step_times = [round(t, 5) for t in intervals]
    m.step_seconds = statistics.median(intervals)
    m.tokens_per_s = workload.tokens_per_step / m.step_seconds
    m.mfu = 6 * params * m.tokens_per_s / peak if peak else None
    if device.type == "cuda":
        m.peak_memory_gib = torch.cuda.max_memory_allocated() / 2**30
    return m


def manual_batches(tokenizer: PreTrainedTokenizerFast, pairs: list[dict[str, str]], workload: Workload,
                   device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(input_ids, labels) per step, tokenised as the trainer does; labels -100 on the prompt."""
    encoded = [encode_pair(tokenizer, p["state"], p["tactic"]) for p in pairs]
    assert all(len(e.ids) == workload.seq_len for e in encoded), "synthetic lengths are off"
    out = []
    for start in range(0, len(encoded), workload.batch):
        chunk = encoded[start : start + workload.batch]
        ids = torch.tensor([e.ids for e in chunk])
        labels = ids.clone()
        for row, e in enumerate(chunk):
            labels[row, : e.prompt_len] = -100
        out.append((ids.to(device), labels.to(device)))
    return out


def run_loop(model: Qwen2ForCausalLM, batches: list[tuple[torch.Tensor, torch.Tensor]],
             device: torch.device) -> tuple[list[float], list[float]]:
    """The baseline: forward (bf16 autocast on CUDA), backward, AdamW step; returns step ends and losses."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=device.type == "cuda")
    ends, losses = [time.perf_counter()], []
    for ids, labels in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().item())  # synchronises, as TRL's per-step metrics do
        synchronize(device)
        ends.append(time.perf_counter())
    del optimizer
    return ends, losses


class StepEnds(TrainerCallback):
    """Records the (synchronised) time at the end of every optimiser step."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.ends: list[float] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.ends.append(time.perf_counter())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        synchronize(self.device)
        self.ends.append(time.perf_counter())


def run_trainer(model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast, pairs: list[dict[str, str]],
                workload: Workload, config: TrainConfig, device: torch.device,
                ) -> tuple[list[float], list[float]]:
    """TRL's SFT trainer as ``prover.expert`` builds it; returns step ends and logged losses."""
    timer = StepEnds(device)
    with tempfile.TemporaryDirectory() as work:
        trainer = sft_trainer_for(model, tokenizer, pairs, work_dir=Path(work), config=config,
                                  callbacks=[timer])
        lengths = {len(row["input_ids"]) for row in trainer.train_dataset}
        assert lengths == {workload.seq_len}, f"TRL tokenised to {lengths}, expected {workload.seq_len}"
        with quiet_progress():
            trainer.train()
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        trainer.accelerator.free_memory()
        trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
        del trainer
    return timer.ends[1:], losses  # from the first step's end, as the loop's intervals after warm-up


def measure(variant: str, body: Callable[[], tuple[list[float], list[float]]], workload: Workload,
            params: int, peak: float | None, device: torch.device) -> Measurement:
    m = Measurement(variant)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ends: list[float] = []
    losses: list[float] = []
    try:
        ends, losses = body()
    except torch.cuda.OutOfMemoryError as exc:
        m.error = f"out of memory: {str(exc).splitlines()[0][:80]}"
    gc.collect()  # the variant's model, optimiser and trainer are garbage by now
    if device.type == "cuda":
        torch.cuda.empty_cache()
        logger.info("%s done; %.2f GiB still allocated", variant, torch.cuda.memory_allocated() / 2**30)
    if m.error:
        return m
    if losses:
        m.first_loss, m.last_loss = losses[0], losses[-1]
    return summarise(m, ends, workload, params, peak, device)


def variants(args: argparse.Namespace, device: torch.device) -> list[tuple[str, str, bool]]:
    """(name, weight dtype, activation checkpointing)."""
    chosen = [("loop", "float32", False), ("trl", "float32", False), ("trl+ckpt", "float32", True)]
    if device.type == "cuda":
        chosen.append(("trl-bf16", "bfloat16", False))
    return [v for v in chosen if not args.only or v[0] in args.only]


def run_all(args: argparse.Namespace) -> tuple[dict[str, Any], list[Measurement]]:
    device = torch.device("cuda" if torch.cuda.is_available() and not args.small else "cpu")
    config = tiny_config() if args.small else qwen25_15b_config()
    workload = Workload(args.batch_size, args.prompt_tokens, args.tactic_tokens, args.steps, args.warmup)
    words = min(1000, config.vocab_size - 8)
    tokenizer = word_tokenizer(words)
    pairs = synthetic_pairs(workload, workload.batch * (workload.steps + workload.warmup), words)
    peak = args.peak_flops if args.peak_flops else (None if device.type == "cpu" else H100_BF16_DENSE)
    params = sum(p.numel() for p in random_qwen2(config, torch.device("meta"), torch.float32).parameters())
    results = []
    for name, dtype_name, checkpointing in variants(args, device):
        dtype = torch.bfloat16 if dtype_name == "bfloat16" else torch.float32
        logger.info("%s ...", name)

        def body(name: str = name, dtype: torch.dtype = dtype, dtype_name: str = dtype_name,
                 checkpointing: bool = checkpointing) -> tuple[list[float], list[float]]:
            model = random_qwen2(config, device, dtype, train=True, seed=0)
            if name == "loop":
                return run_loop(model, manual_batches(tokenizer, pairs, workload, device), device)
            train = TrainConfig(batch_size=workload.batch, max_steps=workload.steps + workload.warmup,
                                learning_rate=2e-5, warmup=0, save_steps=10**6, logging_steps=5,
                                gradient_checkpointing=checkpointing, weight_dtype=dtype_name,
                                device=device.type)
            return run_trainer(model, tokenizer, pairs, workload, train, device)

        results.append(measure(name, body, workload, params, peak, device))
    machine = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "transformers": transformers.__version__,
               "trl": _version("trl"), "threads": torch.get_num_threads(), "params": params,
               "peak_flops": peak, "workload": asdict(workload) | {"seq_len": workload.seq_len},
               "model": "tiny Qwen2" if args.small else "Qwen2.5-1.5B shapes"}
    return machine, results


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def markdown(machine: dict[str, Any], results: list[Measurement]) -> str:
    w = machine["workload"]
    lines = [f"{machine['model']} ({machine['params'] / 1e9:.3f}B parameters) on {machine['device']}; "
             f"torch {machine['torch']}, transformers {machine['transformers']}, trl {machine['trl']}, "
             f"{machine['threads']} CPU threads",
             f"batch {w['batch']} x {w['seq_len']} tokens ({w['prompt_tokens']} prompt + "
             f"{w['tactic_tokens']} tactic+EOS), median of {w['steps']} steps after {w['warmup']} warm-up; "
             f"peak {machine['peak_flops'] or 'n/a'} FLOP/s", "",
             "| variant | step s | tokens/s | MFU | vs loop | peak GiB | loss first -> last |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    base = next((m.tokens_per_s for m in results if m.variant == "loop" and m.tokens_per_s), None)
    for m in results:
        if m.error:
            lines.append(f"| {m.variant} | {m.error} | | | | | |")
            continue
        ratio = f"{m.tokens_per_s / base:.2f}x" if base and m.tokens_per_s else "-"
        mfu = f"{m.mfu:.1%}" if m.mfu is not None else "n/a"
        memory = f"{m.peak_memory_gib:.1f}" if m.peak_memory_gib is not None else "-"
        loss = f"{m.first_loss:.3f} -> {m.last_loss:.3f}" if m.first_loss is not None else "-"
        lines.append(f"| {m.variant} | {m.step_seconds:.4f} | {m.tokens_per_s:,.0f} | {mfu} | {ratio} | "
                     f"{memory} | {loss} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="tiny Qwen2 on CPU (smoke test)")
    parser.add_argument("--peak-flops", type=float, default=None,
                        help="peak FLOP/s for MFU (default: 989e12 on GPU, H100/H200 bf16 dense; "
                             "none on CPU)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="sequences per step (default 16; 8 with --small)")
    parser.add_argument("--prompt-tokens", type=int, default=None,
                        help="prompt tokens, ':::' included (default 480; 96 with --small)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--tactic-tokens", type=int, default=32, help="tactic tokens including the EOS")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (12; 10 with --small)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--only", nargs="*", help="run only these variants (loop trl trl+ckpt trl-bf16)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    small = args.small
    args.batch_size = args.batch_size or (8 if small else 16)
    args.prompt_tokens = args.prompt_tokens or (96 if small else 480)
    args.steps = args.steps or (10 if small else 12)
    if args.warmup < 1:
        parser.error("--warmup must be >= 1")
    return args


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("prover.expert.training").setLevel(logging.WARNING)
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    machine, results = run_all(args)
    machine["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(markdown(machine, results))
    print(f"\n(total {machine['wall_seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": [asdict(m) for m in results]},
                                        indent=2))


if __name__ == "__main__":
    main()
