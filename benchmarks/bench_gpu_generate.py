"""Sampling tactics on a GPU: plain transformers ``generate`` against a shared-prefix, CUDA-graph decoder.

Issue 4, point 6 ("GPU"): a randomly initialised model with Qwen2.5-7B shapes in bf16, 128 states of 384
prompt tokens (random ids), 4 sampled tactics of exactly 48 new tokens each (no EOS). Measured in one
process, same batch, same sampler (temperature, top-p 1, no top-k):

- baseline: ``model.generate(num_return_sequences=4)``: each prompt is copied 4 times and encoded 4 times,
  the KV cache grows by concatenation, every decode step is launched from Python;
- the product's sampler (``prover.policies.prefix_sampler.SharedPrefixSampler``, what ``HFPolicy`` runs by
  default): each prompt is encoded once (prefill in chunks); its KV cache is shared by its 4 samples
  (decode attention reads the prompt part once per prompt, not once per sample); generated tokens go to a
  static per-sample KV buffer; decode steps run eagerly. It also computes each sampled token's raw
  log-probability (what ``HFPolicy`` scores), which the baseline skips;
- the same decoding (``PrefixDecoding``) with one decode step (all layers, sampling and the token
  log-probability) captured as a CUDA graph and replayed 47 times without the host.

Before timing, the decoder is checked against the model's own forward pass (relative error of the logits).

Prompts all have exactly ``--prompt-tokens`` tokens (no padding in either path).

Run on a GPU:  python benchmarks/bench_gpu_generate.py [--json results.json]
Smoke test:    python benchmarks/bench_gpu_generate.py --small      (tiny config, CPU, no CUDA graph)
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import transformers
from random_models import random_qwen2
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

from prover.policies.prefix_sampler import PrefixDecoding, SharedPrefixSampler

logger = logging.getLogger("bench_gpu_generate")


@dataclass(frozen=True)
class Shape:
    """``prompts`` prompts of ``prompt_len`` tokens, ``samples`` samples each of ``new_tokens`` tokens."""

    prompts: int
    samples: int
    prompt_len: int
    new_tokens: int

    @property
    def rows(self) -> int:
        return self.prompts * self.samples


def qwen25_7b_config() -> Qwen2Config:
    """Qwen2.5-7B's shapes (random weights)."""
    return Qwen2Config(
        vocab_size=152064,
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        max_position_embeddings=32768,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )


def tiny_config() -> Qwen2Config:
    """A tiny Qwen2 for the CPU smoke test; large init so attention is far from uniform (a real check)."""
    return Qwen2Config(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )


def generation_config(shape: Shape, temperature: float) -> GenerationConfig:
    """Plain sampling of exactly ``new_tokens`` tokens, ``samples`` per prompt, no top-k/top-p, no EOS."""
    return GenerationConfig(
        do_sample=temperature > 0,
        temperature=temperature if temperature > 0 else 1.0,
        top_p=1.0,
        top_k=0,
        num_beams=1,
        num_return_sequences=shape.samples,
        max_new_tokens=shape.new_tokens,
        min_new_tokens=shape.new_tokens,
        eos_token_id=None,
        pad_token_id=0,
    )


@torch.inference_mode()
def baseline_generate(model: Qwen2ForCausalLM, prompt_ids: torch.Tensor, shape: Shape, temperature: float):
    out = model.generate(
        input_ids=prompt_ids,
        attention_mask=torch.ones_like(prompt_ids),
        generation_config=generation_config(shape, temperature),
    )
    assert out.shape == (shape.rows, shape.prompt_len + shape.new_tokens), out.shape
    return out


@torch.inference_mode()
def check_decoder(
    model: Qwen2ForCausalLM, vocab: int, device: torch.device, chunk: int
) -> tuple[float, float]:
    """The decoder's logits against the model's own forward on the same tokens (prompt + sampled).

    Returns the largest relative error ``|ours - ref| / |ref|`` over rows and positions, and the fraction
    of positions where both pick the same most likely token.
    """
    shape = Shape(prompts=5, samples=2, prompt_len=16, new_tokens=5)
    prompts = torch.randint(0, vocab, (shape.prompts, shape.prompt_len), device=device)
    run = PrefixDecoding(model, prompts.tolist(), shape.samples, shape.new_tokens, temperature=1.0,
                         keep_logits=True)
    run.prefill(chunk)
    for _ in range(shape.new_tokens - 1):
        run.decode_step()
    sequences = torch.cat((prompts.repeat_interleave(shape.samples, dim=0), run.out_tokens), dim=1)
    reference = model(input_ids=sequences).logits.float()
    start = shape.prompt_len - 1
    reference = reference[:, start : start + shape.new_tokens]
    ours = run.kept_logits
    error = float(((ours - reference).norm(dim=-1) / reference.norm(dim=-1)).max())
    agreement = float((ours.argmax(-1) == reference.argmax(-1)).float().mean())
    return error, agreement


class GraphDecoder:
    """``PrefixDecoding`` for one fixed batch with its decode step captured as a CUDA graph."""

    def __init__(self, model: Qwen2ForCausalLM, prompts: torch.Tensor, shape: Shape, temperature: float,
                 chunk: int) -> None:
        self.run = PrefixDecoding(model, prompts.tolist(), shape.samples, shape.new_tokens,
                                  temperature=temperature)
        self.shape, self.chunk = shape, chunk
        self.graph: torch.cuda.CUDAGraph | None = None

    @torch.inference_mode()
    def capture(self) -> float:
        """Capture the decode step (after warm-up on a side stream); returns the seconds taken."""
        started = time.perf_counter()
        self.run.prefill(self.chunk)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self.run.step.zero_()
                self.run.decode_step()
        torch.cuda.current_stream().wait_stream(stream)
        self.run.step.zero_()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.run.decode_step()
        torch.cuda.synchronize()
        self.graph = graph
        return time.perf_counter() - started

    @torch.inference_mode()
    def generate(self) -> torch.Tensor:
        assert self.graph is not None
        self.run.prefill(self.chunk)
        for _ in range(self.shape.new_tokens - 1):
            self.graph.replay()
        return self.run.out_tokens


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]
    tactics: int
    new_tokens: int
    peak_gib: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def line(self, baseline: Timing | None) -> str:
        ratio = baseline.median / self.median if baseline else 1.0
        return (
            f"{self.name:<34} {self.median:8.3f} s  {self.tactics / self.median:9.1f} tactics/s  "
            f"{self.new_tokens / self.median:10.1f} new tokens/s  {ratio:5.2f}x  "
            f"peak {self.peak_gib:5.1f} GiB  runs {[round(s, 3) for s in self.seconds]}"
        )


def measure(name: str, run: Callable[[], object], shape: Shape, repeats: int, device: torch.device) -> Timing:
    """Time ``run`` ``repeats`` times (synchronised), after one untimed warm-up run."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    run()
    sync()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        sync()
        seconds.append(time.perf_counter() - started)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    return Timing(name, seconds, shape.rows, shape.rows * shape.new_tokens, peak)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="tiny config and shapes, on CPU: a smoke test")
    parser.add_argument("--prompts", type=int, help="states (default 128; --small 8)")
    parser.add_argument("--prompt-tokens", type=int, help="tokens per prompt (default 384; --small 24)")
    parser.add_argument("--samples", type=int, default=4, help="tactics per state")
    parser.add_argument("--new-tokens", type=int, help="tokens per tactic (default 48; --small 6)")
    parser.add_argument("--temperature", type=float, default=1.3)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant (median shown)")
    parser.add_argument(
        "--prefill-chunk", type=int, help="prompts per prefill forward (default 32; --small 3)"
    )
    parser.add_argument("--no-graph", action="store_true", help="skip the CUDA-graph variant")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--device", help="default: cuda (--small: cpu)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def setup(args: argparse.Namespace) -> tuple[Qwen2ForCausalLM, Shape, torch.device, torch.Tensor]:
    device = torch.device(args.device or ("cpu" if args.small else "cuda"))
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    config = tiny_config() if args.small else qwen25_7b_config()
    shape = Shape(
        prompts=args.prompts or (8 if args.small else 128),
        samples=args.samples,
        prompt_len=args.prompt_tokens or (24 if args.small else 384),
        new_tokens=args.new_tokens or (6 if args.small else 48),
    )
    if args.prefill_chunk is None:
        args.prefill_chunk = 3 if args.small else 32
    if device.type == "cpu":
        torch.set_num_threads(1)  # a smoke test: stable timings on a shared machine
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    model = random_qwen2(config, device, dtype)
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    params = sum(p.numel() for p in model.parameters()) / 1e9
    seconds = time.perf_counter() - started
    print(f"model: {params:.2f} B parameters, {dtype}, on {device}, built in {seconds:.1f} s")
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    prompts = torch.randint(0, config.vocab_size, (shape.prompts, shape.prompt_len), device=device)
    print(
        f"batch: {shape.prompts} prompts x {shape.prompt_len} tokens, {shape.samples} samples x "
        f"{shape.new_tokens} new tokens, temperature {args.temperature}"
    )
    return model, shape, device, prompts


def run_check(model: Qwen2ForCausalLM, device: torch.device, chunk: int) -> tuple[float, float]:
    """``check_decoder``, printed; exits in float32 (where agreement must be exact) when it fails."""
    error, agreement = check_decoder(model, model.config.vocab_size, device, chunk)
    exact = model.lm_head.weight.dtype == torch.float32
    tolerance = 1e-4 if exact else 5e-2
    print(
        f"check: decoder logits vs model forward: max relative error {error:.2e} "
        f"(tolerance {tolerance:.0e}), same argmax at {100 * agreement:.0f}% of positions"
    )
    if not error <= tolerance:
        if exact:
            raise SystemExit("the shared-prefix decoder disagrees with the model in float32: not timing it")
        print("WARNING: above the bf16 tolerance; timing anyway (see the argmax agreement)")
    return error, agreement


def run_variants(
    args: argparse.Namespace, model, shape: Shape, device: torch.device, prompts
) -> list[Timing]:
    """Baseline, then the shared-prefix decoder eager and (on CUDA) replayed as a CUDA graph."""
    timings: list[Timing] = []
    baseline = None
    if not args.skip_baseline:
        run = lambda: baseline_generate(model, prompts, shape, args.temperature)  # noqa: E731
        baseline = measure("baseline generate(num_return=4)", run, shape, args.repeats, device)
        timings.append(baseline)
        print(baseline.line(None))
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    sampler = SharedPrefixSampler(model, temperature=args.temperature, top_p=1.0,
                                  max_new_tokens=shape.new_tokens, eos_ids=frozenset({-1}), pad_id=0)
    rows = prompts.tolist()
    eager_repeats = max(1, args.repeats - 1)
    timings.append(
        measure("HFPolicy's shared-prefix sampler", lambda: sampler.sample(rows, shape.samples), shape,
                eager_repeats, device)
    )
    print(timings[-1].line(baseline))
    if device.type == "cuda" and not args.no_graph:
        decoder = GraphDecoder(model, prompts, shape, args.temperature, args.prefill_chunk)
        print(f"captured the decode step as a CUDA graph in {decoder.capture():.1f} s")
        timings.append(measure("shared prefix + CUDA graph", decoder.generate, shape, args.repeats, device))
        print(timings[-1].line(baseline))
    return timings


def main() -> None:
    args = parse_args()
    model, shape, device, prompts = setup(args)
    check = run_check(model, device, args.prefill_chunk)
    timings = run_variants(args, model, shape, device, prompts)
    report(args, shape, device, check, timings)


def report(
    args: argparse.Namespace,
    shape: Shape,
    device: torch.device,
    check: tuple[float, float],
    timings: list[Timing],
) -> None:
    """Print the summary table and write the JSON file (if asked)."""
    baseline = None if args.skip_baseline else timings[0]
    print("\nsummary (median of timed runs, prefill included):")
    for timing in timings:
        print("  " + timing.line(baseline))
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "shape": asdict(shape),
        "temperature": args.temperature,
        "check_max_relative_error": check[0],
        "check_argmax_agreement": check[1],
        "variants": [
            {
                **asdict(t),
                "median_s": t.median,
                "tactics_per_s": t.tactics / t.median,
                "new_tokens_per_s": t.new_tokens / t.median,
                "speedup": baseline.median / t.median if baseline else None,
            }
            for t in timings
        ],
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
