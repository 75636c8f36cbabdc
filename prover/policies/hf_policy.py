"""The step prover as a local Hugging Face transformers causal LM (BFS-Prover-V2 by default).

The model reads ``"{state}:::"`` and continues with one tactic followed by EOS. ``HFPolicy`` samples ``n``
continuations per state, batched over states, and scores each by the mean log-probability of its tokens under
the model itself (raw logits, temperature 1, no top-p), so scores do not change with the sampler's settings
and are comparable across searches run with different temperatures.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from planner.model_loading import end_token_ids, load_causal_lm
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.prefix_sampler import SharedPrefixSampler, unsupported
from prover.policies.step_prompt import step_prompt
from search.errors import ModelLoadError
from search.policy_identity import AttemptStream
from search.protocols import Policy
from search.types import Candidate

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class TacticSample:
    """One sampled continuation of a prompt, before de-duplication.

    ``token_ids`` are the generated tokens that were scored: up to and including the first EOS when one was
    produced (``finished``), else all ``max_new_tokens`` of them. ``logprob`` is the mean over ``token_ids``
    of the model's raw log-probabilities (<= 0). ``tactic`` is their decoded text without special tokens,
    stripped; it may be empty.
    """

    tactic: str
    token_ids: tuple[int, ...]
    logprob: float
    finished: bool


class HFPolicy:
    """A ``search.protocols.Policy`` backed by a transformers causal LM.

    ``propose(states, n)`` samples ``n`` tactics per state and returns the distinct non-empty ones, best
    first, scored by mean token log-probability. The score counts the EOS token that ended a tactic (it is
    the model's judgement that the tactic is complete); a tactic cut off at ``max_new_tokens`` is kept and
    scored over the tokens it has. States are grouped by prompt length into batches of ``config.batch_size``.

    Pass both ``model`` and ``tokenizer`` to use prebuilt ones as they are (their device and dtype win over
    the config's; the model is put in eval mode); otherwise both are loaded from ``config.model`` by
    ``planner.model_loading.load_causal_lm``. Raises ``ModelLoadError`` when loading fails.
    """

    def __init__(
        self,
        config: HFPolicyConfig,
        *,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        self.config = config
        if model is None or tokenizer is None:
            if model is not None or tokenizer is not None:
                raise ValueError("pass both model and tokenizer, or neither")
            model, tokenizer = load_causal_lm(config.model, device=config.device, dtype=config.dtype)
        self.tokenizer = tokenizer
        self.model = model.eval()
        self._eos_ids = _eos_token_ids(self.model, self.tokenizer, config.model)
        pad = self.tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else min(self._eos_ids)
        self._rng = torch.Generator().manual_seed(config.seed) if config.seed is not None else None
        self._prefix = self._prefix_sampler()
        self._attempts: dict[HFPolicyConfig, HFPolicy] = {}  # pass@N attempts' policies, by their settings
        context = getattr(self.model.config, "max_position_embeddings", None)
        if context is not None and config.max_prompt_tokens + config.max_new_tokens > context:
            logger.warning(
                "max_prompt_tokens (%d) + max_new_tokens (%d) exceed the model's context of %d tokens",
                config.max_prompt_tokens,
                config.max_new_tokens,
                context,
            )

    @property
    def fingerprint(self) -> str:
        return self.config.fingerprint

    def for_attempt(self, attempt: int) -> Policy:
        """Attempt ``attempt`` of a theorem (pass@N), sampling with the attempt's settings
        (``HFPolicyConfig.for_attempt``: seed + k - 1, the temperature schedule) on this policy's model;
        attempt 1 is this policy. A seeded attempt draws from its own seeded generator, whatever ran before
        it in the process, and is named by its settings; an unseeded one draws from torch's generator, so
        its fingerprint names the attempt too. Not thread-safe (one caller, as ``BatchingPolicy`` ensures)."""
        config = self.config.for_attempt(attempt)
        policy = self
        if config != self.config:
            if config not in self._attempts:
                self._attempts[config] = HFPolicy(config, model=self.model, tokenizer=self.tokenizer)
            policy = self._attempts[config]
        return policy if config.seed is not None else AttemptStream(policy, policy.fingerprint, attempt)

    @property
    def sampler(self) -> str:
        """The sampler in use: ``shared-prefix`` or ``generate``."""
        return "generate" if self._prefix is None else "shared-prefix"

    def _prefix_sampler(self) -> SharedPrefixSampler | None:
        if self.config.sampler == "generate":
            return None
        reason = unsupported(self.model)
        if reason is not None:
            if self.config.sampler == "shared-prefix":
                raise ModelLoadError(self.config.model, f"the shared-prefix sampler cannot run it: {reason} "
                                                        f"(use the generate sampler)")
            logger.info("sampling with transformers' generate: %s", reason)
            return None
        return SharedPrefixSampler(self.model, temperature=self.config.temperature, top_p=self.config.top_p,
                                   max_new_tokens=self.config.max_new_tokens, eos_ids=self._eos_ids,
                                   pad_id=self._pad_id)

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        """Per state, in order: at most ``n`` distinct non-empty tactics sorted by descending logprob.

        Identical tactic texts (after stripping) are one candidate with the best logprob among them.
        Raises ``ValueError`` when ``n < 0``.
        """
        return [_distinct_best_first(samples) for samples in self.sample(states, n)]

    def sample(self, states: Sequence[str], n: int) -> list[list[TacticSample]]:
        """Per state, in order: ``n`` raw samples (no de-duplication, empty texts kept).

        A state whose prompt exceeds ``config.max_prompt_tokens`` tokens gets ``[]`` and a logged warning.
        Raises ``ValueError`` when ``n < 0``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        results: list[list[TacticSample]] = [[] for _ in states]
        if n == 0 or not states:
            return results
        prompts = {i: p for i, p in enumerate(self._encode_prompts(states)) if p is not None}
        order = sorted(prompts, key=lambda i: len(prompts[i]))
        with torch.inference_mode(), self._seeded():
            for start in range(0, len(order), self.config.batch_size):
                chunk = order[start : start + self.config.batch_size]
                per_prompt = self._sample_batch([prompts[i] for i in chunk], n)
                for i, samples in zip(chunk, per_prompt, strict=True):
                    results[i] = samples
        return results

    def _encode_prompts(self, states: Sequence[str]) -> list[list[int] | None]:
        """Token ids of ``"{state}:::"`` per state; ``None`` (and a warning) where the prompt is too long."""
        encoded = self.tokenizer([step_prompt(s) for s in states])["input_ids"]
        prompts: list[list[int] | None] = []
        for index, ids in enumerate(encoded):
            if len(ids) > self.config.max_prompt_tokens:
                logger.warning(
                    "skipping state %d: its prompt has %d tokens, more than max_prompt_tokens=%d",
                    index,
                    len(ids),
                    self.config.max_prompt_tokens,
                )
                prompts.append(None)
            else:
                prompts.append(list(ids))
        return prompts

    def _sample_batch(self, prompts: list[list[int]], n: int) -> list[list[TacticSample]]:
        """Sample ``n`` continuations of each prompt in one batch and score them."""
        if self._prefix is not None:
            tokens, token_logprobs = self._prefix.sample(prompts, n)
        else:
            tokens, token_logprobs = self._generate(prompts, n)
        rows = [self._to_sample(tokens[r].tolist(), token_logprobs[r]) for r in range(len(tokens))]
        # both samplers return the n samples of each prompt next to each other.
        return [rows[p * n : (p + 1) * n] for p in range(len(prompts))]

    def _generate(self, prompts: list[list[int]], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """New tokens and their raw log-probabilities from one left-padded ``generate`` call."""
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        device = self.model.device
        out = self.model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            generation_config=self._generation_config(n),
        )
        new_tokens = out.sequences[:, width:]
        return new_tokens.cpu(), _raw_token_logprobs(out.logits, new_tokens)

    def _generation_config(self, n: int) -> GenerationConfig:
        """Plain temperature/top-p sampling, as vLLM does it for BFS-Prover-V2.

        Every warper a checkpoint's ``generation_config.json`` could switch on (top-k, min-p, repetition
        penalty ...) is set to its neutral value: unset fields would be filled from the checkpoint, and
        transformers' own default top-k of 50 would silently cut the distribution.
        """
        return GenerationConfig(
            do_sample=True,
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            top_k=0,
            min_p=0.0,
            typical_p=1.0,
            epsilon_cutoff=0.0,
            eta_cutoff=0.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            num_beams=1,
            num_return_sequences=n,
            max_new_tokens=self.config.max_new_tokens,
            min_new_tokens=0,
            eos_token_id=sorted(self._eos_ids),
            pad_token_id=self._pad_id,
            output_logits=True,
            return_dict_in_generate=True,
        )

    def _to_sample(self, generated: list[int], token_logprobs: torch.Tensor) -> TacticSample:
        """Cut ``generated`` after its first EOS, decode the text before it, and average the scored tokens."""
        end = next((t for t, tok in enumerate(generated) if tok in self._eos_ids), None)
        scored = generated if end is None else generated[: end + 1]
        text_ids = generated if end is None else generated[:end]
        text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
        assert isinstance(text, str), "one sequence of ids decodes to one string"
        text = text.strip()
        logprob = float(token_logprobs[: len(scored)].mean())
        return TacticSample(tactic=text, token_ids=tuple(scored), logprob=logprob, finished=end is not None)

    @contextlib.contextmanager
    def _seeded(self) -> Iterator[None]:
        """With a seed: run the block on torch's RNG freshly seeded from this policy's own generator.

        The caller's global RNG state is restored afterwards, so a seeded policy is reproducible whatever
        else draws random numbers in the process, and does not disturb them. Without a seed: no effect.
        """
        if self._rng is None:
            yield
            return
        call_seed = int(torch.randint(0, 2**62, (1,), generator=self._rng))
        cuda_devices = list(range(torch.cuda.device_count())) if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(call_seed)
            yield


def _raw_token_logprobs(step_logits: Sequence[torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """``[row, t]`` = log-softmax of the raw logits at step ``t`` taken at the token chosen there (on cpu).

    ``step_logits`` is ``generate(..., output_logits=True)``'s tuple: one ``(rows, vocab)`` tensor per
    generated token, the model's logits before any logits processor or warper. Computed step by step so
    only one ``(rows, vocab)`` float32 tensor of log-probabilities exists at a time. Raises ``RuntimeError``
    if the steps and tokens do not line up (a change in transformers' generate would otherwise misreport).
    """
    if len(step_logits) != tokens.shape[1]:
        raise RuntimeError(
            f"generate returned {len(step_logits)} logit steps for {tokens.shape[1]} new tokens"
        )
    columns = [
        torch.log_softmax(logits.float(), dim=-1).gather(1, tokens[:, t : t + 1]).squeeze(1)
        for t, logits in enumerate(step_logits)
    ]
    return torch.stack(columns, dim=1).cpu()


def _distinct_best_first(samples: Sequence[TacticSample]) -> list[Candidate]:
    """Non-empty tactics, each once with its best logprob, sorted by descending logprob."""
    best: dict[str, float] = {}
    for s in samples:  # a NaN (float16 overflow) never hides a finite score of the same tactic
        known = best.get(s.tactic)
        if s.tactic and (known is None or not math.isfinite(known) or s.logprob > known):
            best[s.tactic] = s.logprob
    return [Candidate(t, lp) for t, lp in sorted(best.items(), key=lambda item: -item[1])]


def _eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str) -> frozenset[int]:
    """The tokens that end a tactic (``end_token_ids``); ``ModelLoadError`` when there is none."""
    ids = end_token_ids(model, tokenizer)
    if not ids:
        raise ModelLoadError(name, "neither the tokenizer nor the generation config names an EOS token")
    return ids
