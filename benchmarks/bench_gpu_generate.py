"""Sampling tactics on a GPU: plain transformers ``generate`` against a shared-prefix, CUDA-graph decoder.

Issue 4, point 6 ("GPU"): a randomly initialised model with Qwen2.5-7B shapes in bf16, 128 states of 384
prompt tokens (random ids), 4 sampled tactics of exactly 48 new tokens each (no EOS). Measured in one
process, same batch, same sampler (temperature, top-p 1, no top-k):

- baseline: ``model.generate(num_return_sequences=4)``: each prompt is copied 4 times and encoded 4 times,
  the KV cache grows by concatenation, every decode step is launched from Python;
- optimised (``SharedPrefixDecoder``): each prompt is encoded once (prefill in chunks); its KV cache is
  shared by its 4 samples (decode attention reads the prompt part once per prompt, not once per sample);
  generated tokens go to a static per-sample KV buffer; one decode step (all layers, sampling and the
  token log-probability) is captured as a CUDA graph and replayed 47 times without the host. It also
  computes each sampled token's raw log-probability (what ``HFPolicy`` scores), which the baseline skips.

The optimised path runs the checkpoint's own modules (embeddings, norms, projections, MLPs, rotary
embedding, LM head) and implements only attention and the caches, for Qwen2/Llama-style decoders. Before
timing, it is checked against the model's own forward pass (relative error of the logits).

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
import torch.nn.functional as F
import transformers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

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


def build_model(config: Qwen2Config, device: torch.device, dtype: torch.dtype) -> Qwen2ForCausalLM:
    """Random weights created directly on ``device`` in ``dtype`` (no slow CPU init, no copy)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model.eval()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding as transformers' ``apply_rotary_pos_emb`` (cos/sin broadcast over ``x``)."""
    return x * cos + rotate_half(x) * sin


class SharedPrefixDecoder:
    """Samples ``shape.samples`` continuations of each prompt with one prefill per prompt.

    Buffers (allocated once): prompt K/V ``[layers, prompts, kv_heads, prompt_len, head_dim]`` shared by a
    prompt's samples; generated K/V ``[layers, rows, kv_heads, new_tokens - 1, head_dim]``; outputs
    ``tokens[rows, new_tokens]`` and their raw log-probabilities. Row ``p * samples + s`` is sample ``s`` of
    prompt ``p``. Sampling is Gumbel-max on ``logits / temperature`` (exact softmax sampling, top-p 1).
    """

    def __init__(
        self,
        model: Qwen2ForCausalLM,
        shape: Shape,
        *,
        temperature: float,
        prefill_chunk: int,
        keep_logits: bool = False,
    ) -> None:
        cfg = model.config
        self.model, self.shape, self.temperature, self.prefill_chunk = (
            model,
            shape,
            temperature,
            prefill_chunk,
        )
        self.layers = list(model.model.layers)
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.group = self.heads // self.kv_heads
        self.scale = self.head_dim**-0.5
        device, dtype = model.lm_head.weight.device, model.lm_head.weight.dtype
        n_layers, slots = len(self.layers), max(shape.new_tokens - 1, 1)
        kv = (n_layers, shape.prompts, self.kv_heads, shape.prompt_len, self.head_dim)
        self.prompt_k = torch.zeros(kv, device=device, dtype=dtype)
        self.prompt_v = torch.zeros(kv, device=device, dtype=dtype)
        gen = (n_layers, shape.rows, self.kv_heads, slots, self.head_dim)
        self.gen_k = torch.zeros(gen, device=device, dtype=dtype)
        self.gen_v = torch.zeros(gen, device=device, dtype=dtype)
        self.slot_ids = torch.arange(slots, device=device)
        self.cos, self.sin = self._rope_tables(shape.prompt_len + shape.new_tokens, device, dtype)
        self.tokens = torch.zeros(shape.rows, dtype=torch.long, device=device)  # fed to the next step
        self.step = torch.zeros((), dtype=torch.long, device=device)  # generated-KV slot of that token
        self.out_tokens = torch.zeros(shape.rows, shape.new_tokens, dtype=torch.long, device=device)
        self.out_logprobs = torch.zeros(shape.rows, shape.new_tokens, dtype=torch.float32, device=device)
        vocab = model.lm_head.weight.shape[0]
        self.kept_logits = (
            torch.zeros(shape.rows, shape.new_tokens, vocab, device=device) if keep_logits else None
        )
        self.graph: torch.cuda.CUDAGraph | None = None

    def _rope_tables(self, length: int, device: torch.device, dtype: torch.dtype):
        """cos/sin ``[length, head_dim]`` from the model's own rotary module."""
        positions = torch.arange(length, device=device)[None]
        probe = torch.zeros(1, length, self.head_dim, device=device, dtype=dtype)
        rotary = getattr(self.model.model, "rotary_emb", None) or self.layers[0].self_attn.rotary_emb
        cos, sin = rotary(probe, positions)
        return cos[0].to(dtype), sin[0].to(dtype)

    @torch.inference_mode()
    def generate(self, prompt_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens[rows, new_tokens], logprobs[rows, new_tokens])`` for ``prompt_ids[prompts, prompt_len]``.

        The returned tensors are the decoder's buffers: copy them before the next call.
        """
        first_logits = self.prefill(prompt_ids).repeat_interleave(self.shape.samples, dim=0)
        self.step.zero_()
        self._sample_into(first_logits, self.step)
        for _ in range(self.shape.new_tokens - 1):
            if self.graph is not None:
                self.graph.replay()
            else:
                self.decode_step()
        return self.out_tokens, self.out_logprobs

    def prefill(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        """Encode each prompt once, store its K/V, return the last position's logits ``[prompts, vocab]``."""
        chunks = []
        for start in range(0, self.shape.prompts, self.prefill_chunk):
            chunks.append(self._prefill_chunk(prompt_ids[start : start + self.prefill_chunk], start))
        return torch.cat(chunks)

    def _prefill_chunk(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        rows, length = ids.shape
        x = self.model.model.embed_tokens(ids)
        cos, sin = self.cos[:length], self.sin[:length]
        for li, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn.q_proj(h).view(rows, length, self.heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(h).view(rows, length, self.kv_heads, self.head_dim).transpose(1, 2)
            v = attn.v_proj(h).view(rows, length, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            self.prompt_k[li, start : start + rows] = k
            self.prompt_v[li, start : start + rows] = v
            k, v = k.repeat_interleave(self.group, dim=1), v.repeat_interleave(self.group, dim=1)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(rows, length, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.lm_head(self.model.model.norm(x[:, -1]))

    def decode_step(self) -> None:
        """Feed ``tokens`` at position ``prompt_len + step``; sample into column ``step + 1``; advance."""
        x = self.model.model.embed_tokens(self.tokens)  # [rows, hidden]
        position = (self.step + self.shape.prompt_len).view(1)
        cos, sin = self.cos.index_select(0, position), self.sin.index_select(0, position)
        valid = self.slot_ids <= self.step
        for li, layer in enumerate(self.layers):
            h = layer.input_layernorm(x)
            x = x + self._decode_attention(layer.self_attn, h, li, cos, sin, valid)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.model.lm_head(self.model.model.norm(x))
        self._sample_into(logits, self.step + 1)
        self.step.add_(1)

    def _decode_attention(self, attn, h, li: int, cos, sin, valid) -> torch.Tensor:
        """One query per row against its prompt's shared K/V and its own generated K/V."""
        p, s, kvh, g, d = self.shape.prompts, self.shape.samples, self.kv_heads, self.group, self.head_dim
        q = rope(attn.q_proj(h).view(p * s, kvh, g, d), cos, sin)
        k = rope(attn.k_proj(h).view(p * s, kvh, 1, d), cos, sin)
        v = attn.v_proj(h).view(p * s, kvh, 1, d)
        slot = self.step.view(1)
        self.gen_k[li].index_copy_(2, slot, k)
        self.gen_v[li].index_copy_(2, slot, v)
        # Prompt part, once per prompt: the s*g queries of a prompt's samples share its keys.
        q_prompt = q.view(p, s, kvh, g, d).transpose(1, 2).reshape(p, kvh, s * g, d)
        scores_prompt = (q_prompt @ self.prompt_k[li].transpose(-1, -2)).float() * self.scale
        scores_gen = (q @ self.gen_k[li].transpose(-1, -2)).float() * self.scale  # [rows, kvh, g, slots]
        scores_gen = scores_gen.masked_fill(~valid, float("-inf"))
        scores_gen = scores_gen.view(p, s, kvh, g, -1).transpose(1, 2).reshape(p, kvh, s * g, -1)
        probs = torch.softmax(torch.cat((scores_prompt, scores_gen), dim=-1), dim=-1).to(q.dtype)
        length = self.shape.prompt_len
        out = probs[..., :length] @ self.prompt_v[li]  # [p, kvh, s*g, d]
        probs_gen = probs[..., length:].reshape(p, kvh, s, g, -1).transpose(1, 2).reshape(p * s, kvh, g, -1)
        out_gen = (probs_gen @ self.gen_v[li]).view(p, s, kvh, g, d).transpose(1, 2)
        out = (out.view(p, kvh, s, g, d) + out_gen).transpose(1, 2).reshape(p * s, kvh * g * d)
        return attn.o_proj(out)

    def _sample_into(self, logits: torch.Tensor, column: torch.Tensor) -> None:
        """Sample from ``logits / temperature``; write token, raw log-prob (and logits) at ``column``."""
        logits = logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        if self.temperature > 0:
            uniform = torch.rand_like(logits).clamp_(min=1e-20, max=1.0 - 1e-7)
            chosen = torch.argmax(logits / self.temperature - torch.log(-torch.log(uniform)), dim=-1)
        else:
            chosen = torch.argmax(logits, dim=-1)
        index = column.view(1)
        self.out_tokens.index_copy_(1, index, chosen[:, None])
        self.out_logprobs.index_copy_(1, index, logprobs.gather(1, chosen[:, None]))
        if self.kept_logits is not None:
            self.kept_logits.index_copy_(1, index, logits[:, None])
        self.tokens.copy_(chosen)

    @torch.inference_mode()
    def capture(self) -> float:
        """Capture ``decode_step`` as a CUDA graph (after warm-up on a side stream); returns seconds taken."""
        started = time.perf_counter()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self.step.zero_()
                self.decode_step()
        torch.cuda.current_stream().wait_stream(stream)
        self.step.zero_()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.decode_step()
        torch.cuda.synchronize()
        self.graph = graph
        return time.perf_counter() - started


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
    decoder = SharedPrefixDecoder(model, shape, temperature=1.0, prefill_chunk=chunk, keep_logits=True)
    prompts = torch.randint(0, vocab, (shape.prompts, shape.prompt_len), device=device)
    tokens, _ = decoder.generate(prompts)
    sequences = torch.cat((prompts.repeat_interleave(shape.samples, dim=0), tokens), dim=1)
    reference = model(input_ids=sequences).logits.float()
    start = shape.prompt_len - 1
    reference = reference[:, start : start + shape.new_tokens]
    ours = decoder.kept_logits
    error = float(((ours - reference).norm(dim=-1) / reference.norm(dim=-1)).max())
    agreement = float((ours.argmax(-1) == reference.argmax(-1)).float().mean())
    return error, agreement


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
    model = build_model(config, device, dtype)
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
    decoder = SharedPrefixDecoder(
        model, shape, temperature=args.temperature, prefill_chunk=args.prefill_chunk
    )
    eager_repeats = max(1, args.repeats - 1)
    timings.append(
        measure(
            "shared prefix, eager decode", lambda: decoder.generate(prompts), shape, eager_repeats, device
        )
    )
    print(timings[-1].line(baseline))
    if device.type == "cuda" and not args.no_graph:
        print(f"captured the decode step as a CUDA graph in {decoder.capture():.1f} s")
        timings.append(
            measure(
                "shared prefix + CUDA graph", lambda: decoder.generate(prompts), shape, args.repeats, device
            )
        )
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
