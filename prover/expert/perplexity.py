"""Perplexity of (state, tactic) pairs under a causal LM, in batched forward passes.

A pair is tokenised exactly as the trainer tokenises it and as the step prover meets it: the prompt
``"{state}:::"`` as ``HFPolicy`` encodes it, then the tactic tokenised on its own, then EOS. Tokenising
``prompt + tactic`` as one string instead would let a token merge across the boundary (with Qwen's
vocabulary ``":::" + "(h ..."`` becomes ``"::" ":(" "h"``): the model would be trained and scored on a
context it never sees when it samples after the prompt's own tokens. Only the tactic's tokens and the EOS
are scored (the EOS is the model's judgement that the tactic is complete, as in ``HFPolicy``'s scores).

Rows are left-padded (explicit position ids), so every tactic ends at the last column and only the last
``longest tactic + 1`` columns of logits are computed (``logits_to_keep``): the full (rows, length, vocab)
logits of a 150k-token vocabulary would dominate memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.model_loading import load_causal_lm
from prover.policies.step_prompt import step_prompt

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedPair:
    """``ids``: prompt and tactic tokens and the EOS; ``prompt_len``: how many of them are the prompt."""

    ids: tuple[int, ...]
    prompt_len: int

    @property
    def completion_len(self) -> int:
        return len(self.ids) - self.prompt_len


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def encode_pair(tokenizer: PreTrainedTokenizerBase, state: str, tactic: str) -> EncodedPair:
    """Tokenise one pair as the SFT trainer does (see the module docstring)."""
    prompt_ids = tokenizer(step_prompt(state))["input_ids"]
    tactic_ids = tokenizer(tactic, add_special_tokens=False)["input_ids"]
    return EncodedPair((*prompt_ids, *tactic_ids, int(tokenizer.eos_token_id)), max(1, len(prompt_ids)))


def load_scorer(model: str, device: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model (eval mode; bf16 on CUDA, float32 on CPU) and tokenizer at ``model``.

    Raises ``ModelLoadError``, also when the tokenizer names no EOS token."""
    return load_causal_lm(model, device=device, require_eos=True)


def log_perplexities(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     pairs: Sequence[tuple[str, str]], *, batch_size: int = 16,
                     max_length: int = 2048) -> list[float | None]:
    """Per (state, tactic): the mean NLL of the tactic tokens and EOS, in nats per token (>= 0).

    ``None`` for a pair longer than ``max_length`` tokens (it would be truncated in training). Pairs are
    batched by length, ``batch_size`` at a time."""
    import torch

    encoded = [encode_pair(tokenizer, state, tactic) for state, tactic in pairs]
    scores: list[float | None] = [None] * len(encoded)
    order = sorted((i for i, e in enumerate(encoded) if len(e.ids) <= max_length),
                   key=lambda i: len(encoded[i].ids))
    skipped = len(encoded) - len(order)
    if skipped:
        logger.warning("%d pairs longer than %d tokens are not scored", skipped, max_length)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            values = _batch_nll(model, [encoded[i] for i in chunk], int(pad))
            for i, value in zip(chunk, values, strict=True):
                scores[i] = value
    return scores


def _batch_nll(model: PreTrainedModel, batch: list[EncodedPair], pad_id: int) -> list[float]:
    """Mean completion NLL of each left-padded row, from the last ``longest completion + 1`` logits."""
    import torch

    width = max(len(e.ids) for e in batch)
    keep = max(e.completion_len for e in batch) + 1
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        ids[row, width - len(e.ids) :] = torch.tensor(e.ids, dtype=torch.long)
        mask[row, width - len(e.ids) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    device = model.device
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                   position_ids=positions.to(device), logits_to_keep=keep).logits
    targets = ids[:, width - keep + 1 :].to(device)  # the last keep - 1 tokens
    nll = -_token_logprobs(logits[:, :-1], targets)  # (rows, keep - 1)
    lengths = torch.tensor([e.completion_len for e in batch], device=device)
    columns = torch.arange(keep - 1, device=device)
    scored = columns.unsqueeze(0) >= (keep - 1 - lengths).unsqueeze(1)  # each row's last completion_len
    per_row = (nll * scored).sum(dim=1) / lengths
    return [float(v) for v in per_row.float().cpu()]


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log-softmax of ``logits`` (rows, steps, vocab) at ``targets`` (rows, steps), in float32."""
    import torch

    return torch.log_softmax(logits.float(), dim=-1).gather(2, targets.unsqueeze(2)).squeeze(2)
