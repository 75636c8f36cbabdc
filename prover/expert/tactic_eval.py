"""Held-out evaluation of a step-prover model on (state, tactic) pairs: how likely it finds the reference
tactic (perplexity) and whether it writes it (top-1 / top-k accuracy).

- Perplexity: ``exp`` of the mean negative log-likelihood per scored token over all evaluated pairs, the
  tokens being each tactic's and its EOS, tokenised as the trainer and the prover do
  (``perplexity.log_perplexities``; pairs weighted by their token counts).
- Accuracy: beam search from the step prompt (``k`` beams, ``k`` returned, ranked by mean token
  log-prob as the prover ranks its candidates; deterministic), each candidate cut at its first EOS and
  decoded as ``HFPolicy`` decodes it. A pair is a top-k hit when the reference tactic is among the ``k``
  candidates, top-1 when it is the first; texts are compared after collapsing whitespace runs.

A pair is evaluated when its prompt has at most ``max_prompt_tokens`` tokens (a longer state gets no
candidates from ``HFPolicy`` either); the others are counted, not scored. Batched with left padding; the
model's training mode is restored afterwards.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from prover.expert.perplexity import encode_pair, log_perplexities
from prover.policies.step_prompt import step_prompt

if TYPE_CHECKING:
    import torch
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TacticEval:
    """What ``evaluate_tactics`` measured. ``pairs``: given; ``evaluated``: those whose prompt fits
    (``too_long`` the rest); ``tokens``: tactic and EOS tokens scored; ``nll``: mean NLL per token (nats);
    ``perplexity``: ``exp(nll)``; ``hits_1`` / ``hits_k``: evaluated pairs whose reference is the first /
    among the ``k`` candidates; ``top1`` / ``topk``: those as fractions of ``evaluated``."""

    pairs: int
    evaluated: int
    too_long: int
    tokens: int
    nll: float
    perplexity: float
    k: int
    hits_1: int
    hits_k: int
    top1: float
    topk: float
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The fields, with ``nll_per_tactic`` (mean NLL of a whole tactic: comparable across tokenizers)
        and the accuracies over all given pairs (``top1_all``, ``topk_all``: a pair too long counts as a
        miss)."""
        return {**asdict(self), "nll_per_tactic": self.nll * self.tokens / self.evaluated,
                "top1_all": self.hits_1 / self.pairs, "topk_all": self.hits_k / self.pairs}


def normalise_tactic(text: str) -> str:
    """The tactic with surrounding whitespace removed and inner runs of whitespace collapsed to a space."""
    return " ".join(text.split())


def evaluate_tactics(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     pairs: Sequence[tuple[str, str]], *, k: int = 8, batch_size: int = 8,
                     max_new_tokens: int = 64, max_prompt_tokens: int = 1024) -> TacticEval:
    """Perplexity and top-1/top-k accuracy of ``model`` on ``pairs`` (state, reference tactic).

    Raises ``ValueError`` for no pairs, a pair that is not two strings or has a blank tactic (naming its
    index), a setting below 1, a tokenizer without EOS, or no pair whose prompt fits ``max_prompt_tokens``."""
    _check_arguments(tokenizer, pairs, k=k, batch_size=batch_size, max_new_tokens=max_new_tokens,
                     max_prompt_tokens=max_prompt_tokens)
    started = time.perf_counter()
    encoded = [encode_pair(tokenizer, state, tactic) for state, tactic in pairs]
    chosen = [i for i, e in enumerate(encoded) if e.prompt_len <= max_prompt_tokens]
    if not chosen:
        raise ValueError(f"none of the {len(pairs)} pairs has a prompt of at most {max_prompt_tokens} tokens")
    if len(chosen) < len(pairs):
        logger.warning("%d of %d pairs have prompts over %d tokens and are not evaluated",
                       len(pairs) - len(chosen), len(pairs), max_prompt_tokens)
    kept = [pairs[i] for i in chosen]
    was_training = model.training
    model.eval()
    try:
        scores = log_perplexities(model, tokenizer, kept, batch_size=batch_size,
                                  max_length=max(len(encoded[i].ids) for i in chosen))
        ranks = reference_ranks(model, tokenizer, kept, k=k, batch_size=batch_size,
                                max_new_tokens=max_new_tokens)
    finally:
        model.train(was_training)
    lengths = [encoded[i].completion_len for i in chosen]
    tokens = sum(lengths)
    nll = sum(score * n for score, n in zip(scores, lengths, strict=True) if score is not None) / tokens
    hits_1 = sum(rank == 0 for rank in ranks)
    hits_k = sum(rank is not None for rank in ranks)
    return TacticEval(pairs=len(pairs), evaluated=len(kept), too_long=len(pairs) - len(kept), tokens=tokens,
                      nll=nll, perplexity=math.exp(nll), k=k, hits_1=hits_1, hits_k=hits_k,
                      top1=hits_1 / len(kept), topk=hits_k / len(kept),
                      seconds=round(time.perf_counter() - started, 3))


def _check_arguments(tokenizer: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]], **settings: int,
                     ) -> None:
    """Raise ``ValueError`` naming the first problem with the arguments of ``evaluate_tactics``."""
    if not pairs:
        raise ValueError("no pairs to evaluate")
    for name, value in settings.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token: tactics end with it")
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ValueError(f"pair {index}: expected (state, tactic) strings, got {pair!r:.80}")
        if not pair[1].strip():
            raise ValueError(f"pair {index}: the reference tactic is blank")


def reference_ranks(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    pairs: Sequence[tuple[str, str]], *, k: int, batch_size: int, max_new_tokens: int,
                    ) -> list[int | None]:
    """Per pair: the 0-based rank of its reference tactic among the model's ``k`` beam-search candidates,
    ``None`` when it is not among them."""
    candidates = beam_candidates(model, tokenizer, [state for state, _ in pairs], k=k, batch_size=batch_size,
                                 max_new_tokens=max_new_tokens)
    ranks: list[int | None] = []
    for (_, reference), texts in zip(pairs, candidates, strict=True):
        normalised = [normalise_tactic(t) for t in texts]
        target = normalise_tactic(reference)
        ranks.append(normalised.index(target) if target in normalised else None)
    return ranks


def beam_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, states: Sequence[str], *,
                    k: int, batch_size: int, max_new_tokens: int) -> list[list[str]]:
    """Per state: ``k`` tactics by beam search, best first (prompts batched by length)."""
    import torch

    prompts = [list(tokenizer(step_prompt(state))["input_ids"]) for state in states]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    eos = _eos_ids(model, tokenizer)
    pad = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else int(tokenizer.eos_token_id)
    config = _beam_config(k, max_new_tokens, sorted(eos), pad)
    out: list[list[str]] = [[] for _ in prompts]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            new_tokens = _generate(model, [prompts[i] for i in chunk], config, pad)
            for row, index in enumerate(chunk):
                out[index] = [_decode(tokenizer, new_tokens[row * k + j].tolist(), eos) for j in range(k)]
    return out


def _generate(model: PreTrainedModel, prompts: list[list[int]], config: GenerationConfig, pad: int,
              ) -> torch.Tensor:
    """The new tokens of one left-padded beam-search call, ``k`` rows per prompt (on cpu)."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    # a causal LM's generate (GenerationMixin), which the PreTrainedModel annotation does not declare
    sequences: torch.Tensor = cast(Any, model).generate(
        input_ids=ids.to(model.device), attention_mask=mask.to(model.device), generation_config=config)
    return sequences[:, width:].cpu()


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    """The tokens that end a tactic, as for ``HFPolicy``: the tokenizer's EOS and any the model's
    generation config names."""
    ids = {int(tokenizer.eos_token_id)}
    configured = getattr(model.generation_config, "eos_token_id", None)
    if configured is not None:
        ids.update(int(i) for i in (configured if isinstance(configured, list | tuple) else [configured]))
    return frozenset(ids)


def _beam_config(k: int, max_new_tokens: int, eos: list[int], pad: int) -> GenerationConfig:
    """Deterministic beam search: every warper or penalty a checkpoint's generation config could switch on
    is set to its neutral value (unset fields would be filled from the checkpoint); ``length_penalty`` 1
    ranks finished beams by mean token log-prob."""
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=False, num_beams=k, num_return_sequences=k, length_penalty=1.0, early_stopping=True,
        max_new_tokens=max_new_tokens, min_new_tokens=0, repetition_penalty=1.0, no_repeat_ngram_size=0,
        eos_token_id=eos, pad_token_id=pad)


def _decode(tokenizer: PreTrainedTokenizerBase, generated: list[int], eos: frozenset[int]) -> str:
    """The text before the first EOS (all of it when there is none), stripped, as ``HFPolicy`` decodes."""
    end = next((t for t, token in enumerate(generated) if token in eos), len(generated))
    text = tokenizer.decode(generated[:end], skip_special_tokens=True)
    assert isinstance(text, str), "one sequence of ids decodes to one string"
    return text.strip()
