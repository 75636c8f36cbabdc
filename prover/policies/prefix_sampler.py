"""Sampling ``n`` tactics per state with each prompt encoded once: the shared-prefix sampler.

transformers' ``generate(num_return_sequences=n)`` copies every prompt ``n`` times, encodes each copy, and
grows a per-row KV cache by concatenation. A step prover samples several tactics from the same state, so
here each prompt is encoded once (prefill), its keys and values are kept once and read by all its samples
(decode attention reads a prompt's part once per prompt, not once per sample), and the generated tokens go
to a static per-sample KV buffer. One decode step touches only preallocated tensors and never syncs with
the host, so it can also be captured as a CUDA graph (``benchmarks/bench_gpu_generate.py`` does).

The sampler runs the checkpoint's own modules (embeddings, norms, projections, MLPs, rotary embedding, LM
head) and implements only attention and the caches, for Qwen2 and Llama-style decoders (``unsupported``
says why another model is not). Prompts of different lengths are left-padded and masked; positions count
from each prompt's first real token, as ``generate`` does. Sampling matches ``HFPolicy``'s: temperature then
top-p, and each token's raw log-probability (temperature 1) for the score.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

logger = logging.getLogger(__name__)


class AttentionProjections(Protocol):
    """The parts of a Qwen2 or Llama attention module the decode step calls (its own forward is not)."""

    q_proj: torch.nn.Linear
    k_proj: torch.nn.Linear
    v_proj: torch.nn.Linear
    o_proj: torch.nn.Linear

SUPPORTED_MODEL_TYPES = ("qwen2", "llama")
PREFILL_TOKENS = 8192  # prompt tokens per prefill forward: bounds the activations and the attention mask
EOS_CHECK_EVERY = 8  # decode steps between checks (a host sync) whether every sample has ended


def unsupported(model: PreTrainedModel) -> str | None:
    """Why the shared-prefix sampler cannot run ``model`` (``None``: it can)."""
    config = model.config
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        return f"model type {model_type!r} is not one of {', '.join(SUPPORTED_MODEL_TYPES)}"
    if getattr(config, "use_sliding_window", False):
        return "sliding-window attention is not implemented"
    if getattr(config, "pretraining_tp", 1) != 1:
        return "tensor-parallel pretraining layout (pretraining_tp > 1) is not implemented"
    layers = getattr(getattr(model, "model", None), "layers", None)
    if not layers:
        return "the model has no decoder layers at model.model.layers"
    attn = layers[0].self_attn
    if not all(hasattr(attn, name) for name in ("q_proj", "k_proj", "v_proj", "o_proj")):
        return "the attention layers lack q/k/v/o projections"
    if hasattr(attn, "q_norm") or hasattr(attn, "k_norm"):
        return "query/key normalisation is not implemented"
    if not callable(getattr(sys.modules[type(attn).__module__], "apply_rotary_pos_emb", None)):
        return "its modelling code has no apply_rotary_pos_emb"
    return None


class PrefixDecoding:
    """The buffers and steps of one batch: ``prompts`` (token ids, any lengths) sampled ``samples`` times
    each, up to ``new_tokens`` tokens. Row ``p * samples + s`` is sample ``s`` of prompt ``p``.

    ``prefill`` encodes the prompts and samples every row's first token; each ``decode_step`` feeds the last
    sampled tokens and samples the next ones into ``out_tokens`` / ``out_logprobs`` (raw log-probabilities).
    ``keep_logits`` also keeps every step's raw logits (for checks against the model's forward pass).
    """

    def __init__(self, model: PreTrainedModel, prompts: Sequence[Sequence[int]], samples: int,
                 new_tokens: int, *, temperature: float, top_p: float = 1.0, pad_id: int = 0,
                 keep_logits: bool = False) -> None:
        if not prompts or any(len(p) == 0 for p in prompts):
            raise ValueError("every prompt needs at least one token")
        cfg = model.config
        self.model, self.samples, self.new_tokens = model, samples, new_tokens
        self.temperature, self.top_p = temperature, top_p
        self.layers = list(model.model.layers)
        # the checkpoint's own rotary embedding: apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim)
        self.rotate = sys.modules[type(self.layers[0].self_attn).__module__].apply_rotary_pos_emb
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.group = self.heads // self.kv_heads
        self.scale = self.head_dim**-0.5
        device, dtype = model.lm_head.weight.device, model.lm_head.weight.dtype
        self.prompts, self.width = len(prompts), max(len(p) for p in prompts)
        self.rows = self.prompts * samples
        lengths = torch.tensor([len(p) for p in prompts], device=device)
        ids = torch.full((self.prompts, self.width), pad_id, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, self.width - len(prompt):] = torch.as_tensor(prompt, dtype=torch.long)
        self.ids = ids.to(device)
        columns = torch.arange(self.width, device=device)
        padding = (self.width - lengths)[:, None]
        self.key_valid = columns[None] >= padding  # [prompts, width]: False on left padding
        self.positions = (columns[None] - padding).clamp(min=0)  # [prompts, width]
        self.row_lengths = lengths.repeat_interleave(samples)  # [rows]: the position of generated token 0
        layers, slots = len(self.layers), max(new_tokens - 1, 1)
        kv = (layers, self.prompts, self.kv_heads, self.width, self.head_dim)
        self.prompt_k = torch.zeros(kv, device=device, dtype=dtype)
        self.prompt_v = torch.zeros(kv, device=device, dtype=dtype)
        gen = (layers, self.rows, self.kv_heads, slots, self.head_dim)
        self.gen_k = torch.zeros(gen, device=device, dtype=dtype)
        self.gen_v = torch.zeros(gen, device=device, dtype=dtype)
        self.slot_ids = torch.arange(slots, device=device)
        self.cos, self.sin = self._rope_tables(self.width + new_tokens, device, dtype)
        self.tokens = torch.zeros(self.rows, dtype=torch.long, device=device)  # fed to the next step
        self.step = torch.zeros((), dtype=torch.long, device=device)  # generated-KV slot of that token
        self.active = torch.arange(self.rows, device=device)  # the output row of each decoded row
        self.out_tokens = torch.zeros(self.rows, new_tokens, dtype=torch.long, device=device)
        self.out_logprobs = torch.zeros(self.rows, new_tokens, dtype=torch.float32, device=device)
        vocab = model.lm_head.weight.shape[0]
        self.kept_logits = torch.zeros(self.rows, new_tokens, vocab, device=device) if keep_logits else None

    def _rope_tables(self, length: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """cos/sin ``[length, head_dim]`` from the model's own rotary module (scaling included)."""
        positions = torch.arange(length, device=device)[None]
        probe = torch.zeros(1, length, self.head_dim, device=device, dtype=dtype)
        rotary = getattr(self.model.model, "rotary_emb", None) or self.layers[0].self_attn.rotary_emb
        cos, sin = rotary(probe, positions)
        return cos[0].to(dtype), sin[0].to(dtype)

    def prefill(self, chunk: int | None = None) -> None:
        """Encode each prompt once (``chunk`` prompts per forward) and sample every row's first token."""
        chunk = chunk or max(1, PREFILL_TOKENS // self.width)
        last = [self._prefill_chunk(start, min(start + chunk, self.prompts))
                for start in range(0, self.prompts, chunk)]
        self.step.zero_()
        self._sample_into(torch.cat(last).repeat_interleave(self.samples, dim=0), self.step)

    def _prefill_chunk(self, start: int, end: int) -> torch.Tensor:
        rows, length = end - start, self.width
        x = self.model.model.embed_tokens(self.ids[start:end])
        positions = self.positions[start:end]
        cos, sin = self.cos[positions], self.sin[positions]  # [rows, width, d]
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        mask = causal[None] & self.key_valid[start:end, None, :]
        mask |= torch.eye(length, dtype=torch.bool, device=x.device)[None]  # padding attends to itself
        mask = mask[:, None]  # [rows, 1, width, width]
        for li, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn.q_proj(h).view(rows, length, self.heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(h).view(rows, length, self.kv_heads, self.head_dim).transpose(1, 2)
            v = attn.v_proj(h).view(rows, length, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = self.rotate(q, k, cos, sin, unsqueeze_dim=1)
            self.prompt_k[li, start:end] = k
            self.prompt_v[li, start:end] = v
            k, v = k.repeat_interleave(self.group, dim=1), v.repeat_interleave(self.group, dim=1)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(rows, length, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.lm_head(self.model.model.norm(x[:, -1]))  # left padding: -1 is a real token

    def decode_step(self) -> None:
        """Feed ``tokens`` (generated token ``step``); sample token ``step + 1``; advance. Touches only
        preallocated tensors and never syncs with the host (capturable as a CUDA graph)."""
        x = self.model.model.embed_tokens(self.tokens)  # [rows, hidden]
        position = self.row_lengths + self.step
        cos, sin = self.cos[position][:, None], self.sin[position][:, None]  # [rows, 1, d]
        valid = self.slot_ids <= self.step
        for li, layer in enumerate(self.layers):
            h = layer.input_layernorm(x)
            x = x + self._decode_attention(layer.self_attn, h, li, cos, sin, valid)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.model.lm_head(self.model.model.norm(x))
        self._sample_into(logits, self.step + 1)
        self.step.add_(1)

    def _decode_attention(self, attn: AttentionProjections, h: torch.Tensor, li: int, cos: torch.Tensor,
                          sin: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """One query per row against its prompt's shared K/V and its own generated K/V."""
        p, s, kvh, g, d = self.prompts, self.samples, self.kv_heads, self.group, self.head_dim
        q, k = self.rotate(attn.q_proj(h).view(p * s, kvh, g, d), attn.k_proj(h).view(p * s, kvh, 1, d),
                           cos, sin, unsqueeze_dim=1)
        v = attn.v_proj(h).view(p * s, kvh, 1, d)
        slot = self.step.view(1)
        self.gen_k[li].index_copy_(2, slot, k)
        self.gen_v[li].index_copy_(2, slot, v)
        # Prompt part, once per prompt: the s*g queries of a prompt's samples share its keys.
        q_prompt = q.view(p, s, kvh, g, d).transpose(1, 2).reshape(p, kvh, s * g, d)
        scores_prompt = (q_prompt @ self.prompt_k[li].transpose(-1, -2)).float() * self.scale
        scores_prompt = scores_prompt.masked_fill(~self.key_valid[:, None, None, :], float("-inf"))
        scores_gen = (q @ self.gen_k[li].transpose(-1, -2)).float() * self.scale  # [rows, kvh, g, slots]
        scores_gen = scores_gen.masked_fill(~valid, float("-inf"))
        scores_gen = scores_gen.view(p, s, kvh, g, -1).transpose(1, 2).reshape(p, kvh, s * g, -1)
        probs = torch.softmax(torch.cat((scores_prompt, scores_gen), dim=-1), dim=-1).to(q.dtype)
        out = probs[..., : self.width] @ self.prompt_v[li]  # [p, kvh, s*g, d]
        probs_gen = probs[..., self.width:].reshape(p, kvh, s, g, -1).transpose(1, 2)
        probs_gen = probs_gen.reshape(p * s, kvh, g, -1)
        out_gen = (probs_gen @ self.gen_v[li]).view(p, s, kvh, g, d).transpose(1, 2)
        out = (out.view(p, kvh, s, g, d) + out_gen).transpose(1, 2).reshape(p * s, kvh * g * d)
        return attn.o_proj(out)

    def _sample_into(self, logits: torch.Tensor, column: torch.Tensor) -> None:
        """Sample from ``logits / temperature`` cut to the top-p mass (Gumbel-max, torch's global RNG);
        write the token and its raw log-probability (and the logits) at ``column``."""
        logits = logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        scaled = logits / self.temperature
        if self.top_p < 1.0:
            ordered, order = scaled.sort(dim=-1, descending=True)
            probs = torch.softmax(ordered, dim=-1)
            outside = probs.cumsum(dim=-1) - probs > self.top_p  # the mass before it already covers top_p
            kept = ordered.masked_fill(outside, float("-inf"))
            scaled = torch.empty_like(scaled).scatter_(-1, order, kept)
        uniform = torch.rand_like(scaled).clamp_(min=1e-20, max=1.0 - 1e-7)
        chosen = torch.argmax(scaled - torch.log(-torch.log(uniform)), dim=-1)
        where = (self.active, column.expand_as(self.active))
        self.out_tokens.index_put_(where, chosen)
        self.out_logprobs.index_put_(where, logprobs.gather(1, chosen[:, None])[:, 0])
        if self.kept_logits is not None:
            self.kept_logits.index_put_(where, logits)
        self.tokens.copy_(chosen)

    def keep(self, prompts: torch.Tensor) -> None:
        """Go on decoding only the prompts at indices ``prompts`` (of those still decoded), with all their
        samples: the others' rows leave the buffers, their outputs stay. Shapes change, so a CUDA graph
        captured before no longer applies."""
        prompts = prompts.to(self.key_valid.device)
        offsets = torch.arange(self.samples, device=prompts.device)
        rows = (prompts[:, None] * self.samples + offsets).reshape(-1)
        self.prompt_k, self.prompt_v = self.prompt_k[:, prompts], self.prompt_v[:, prompts]
        self.key_valid = self.key_valid[prompts]
        self.gen_k, self.gen_v = self.gen_k[:, rows], self.gen_v[:, rows]
        self.row_lengths, self.tokens = self.row_lengths[rows], self.tokens[rows]
        self.active = self.active[rows]
        self.prompts, self.rows = len(prompts), len(rows)


class SharedPrefixSampler:
    """Samples ``n`` continuations of each prompt (see the module docstring); stops early once every
    sample has produced one of ``eos_ids``, and (``compact``) drops the prompts whose samples all ended from
    the batch on the way."""

    def __init__(self, model: PreTrainedModel, *, temperature: float, top_p: float, max_new_tokens: int,
                 eos_ids: frozenset[int], pad_id: int, compact: bool = True) -> None:
        reason = unsupported(model)
        if reason is not None:
            raise ValueError(f"the shared-prefix sampler cannot run this model: {reason}")
        self.model = model
        self.temperature, self.top_p, self.max_new_tokens = temperature, top_p, max_new_tokens
        self.pad_id = pad_id
        self.compact = compact
        self._eos = torch.tensor(sorted(eos_ids), dtype=torch.long, device=model.lm_head.weight.device)

    @torch.inference_mode()
    def sample(self, prompts: Sequence[Sequence[int]], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens, logprobs)`` on the CPU, ``[len(prompts) * n, steps]`` each: row ``p * n + s`` is
        sample ``s`` of prompt ``p``; ``steps <= max_new_tokens`` (fewer when every sample ended early).
        Tokens after a sample's first EOS are filler, to be cut by the caller.

        Every ``EOS_CHECK_EVERY`` steps, the prompts whose samples have all ended leave the batch (with
        ``compact``), so that a few long tactics do not keep every row decoding."""
        run = PrefixDecoding(self.model, prompts, n, self.max_new_tokens, temperature=self.temperature,
                             top_p=self.top_p, pad_id=self.pad_id)
        run.prefill()
        ended = torch.isin(run.tokens, self._eos)
        steps = 1
        while steps < self.max_new_tokens:
            if steps % EOS_CHECK_EVERY == 0:
                live = ~ended.view(run.prompts, n).all(dim=1)
                if not bool(live.any()):
                    break
                if self.compact and not bool(live.all()):
                    kept = live.nonzero()[:, 0]
                    run.keep(kept)
                    ended = ended.view(-1, n)[kept].reshape(-1)
            run.decode_step()
            ended |= torch.isin(run.tokens, self._eos)
            steps += 1
        return run.out_tokens[:, :steps].cpu(), run.out_logprobs[:, :steps].cpu()
