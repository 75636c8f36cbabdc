"""The planner as a local transformers causal LM: the conversation goes through the tokenizer's chat
template, the model samples one answer (``max_tokens`` new tokens at most, ending at EOS).

A tokenizer without a chat template (a base model, a test model) gets ChatML, the format of Qwen's chat
models, with a warning. Torch and transformers are imported by this module only, which
``planner.client_factory.make_planner_client`` imports only for ``provider="hf"``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from planner.client import ChatAnswer, ChatMessage
from planner.config import MODEL_ENV, PlannerClientConfig
from planner.errors import PlannerConfigError, PlannerModelLoadError
from planner.model_loading import end_token_ids, load_causal_lm
from search.errors import ModelLoadError

logger = logging.getLogger(__name__)

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class HFChatPlanner:
    """A ``PlannerClient`` over a local model: ``config.model`` (else ``$PLANNER_MODEL``) is a directory or
    hub id, loaded by ``planner.model_loading``; pass both ``model`` and ``tokenizer`` to use prebuilt ones
    as they are. Sampling uses the config's temperature and top-p (greedy at temperature 0) and its seed,
    without disturbing torch's global RNG.

    Raises ``PlannerConfigError`` (no model named) and ``PlannerModelLoadError``.
    """

    def __init__(self, config: PlannerClientConfig, *, model: PreTrainedModel | None = None,
                 tokenizer: PreTrainedTokenizerBase | None = None) -> None:
        self.config = config
        name = config.model or os.environ.get(MODEL_ENV)
        if model is None and not name:
            raise PlannerConfigError(f"no planner model: give --planner-model or set ${MODEL_ENV}")
        self.name = name or type(model).__name__
        if model is None or tokenizer is None:
            if model is not None or tokenizer is not None:
                raise ValueError("pass both model and tokenizer, or neither")
            model, tokenizer = _load(self.name, config)
        self.tokenizer = tokenizer
        self.model = model.eval()
        self._end_ids = end_token_ids(self.model, self.tokenizer)  # an answer ended by none was cut off
        if getattr(self.tokenizer, "chat_template", None) is None:
            logger.warning("planner tokenizer of %s has no chat template; using ChatML", self.name)
            self.tokenizer.chat_template = CHATML_TEMPLATE

    def complete(self, messages: Sequence[ChatMessage], *, timeout: float | None = None) -> ChatAnswer:
        """Sample one answer (generation stops after ``timeout`` seconds when given); only the new tokens
        are decoded (special tokens dropped)."""
        ids = self._encode(messages)
        c = self.config
        pad = self.tokenizer.pad_token_id
        options: dict[str, object] = {"max_new_tokens": c.max_tokens,
                                      "pad_token_id": pad if pad is not None else self.tokenizer.eos_token_id}
        if timeout is not None:
            options["max_time"] = max(timeout, 0.001)
        if c.temperature > 0:
            options.update(do_sample=True, temperature=c.temperature, top_p=c.top_p)
        else:
            options.update(do_sample=False)
        with torch.inference_mode(), _seeded(c.seed, self.model):
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **options)
        new = out[0, ids.shape[1]:]
        # not ended by an end-of-answer token: the length or the time limit (max_time) stopped it midway
        cut_off = new.shape[0] == 0 or int(new[-1]) not in self._end_ids
        if cut_off:
            logger.warning("the planner's answer was cut off at max_tokens=%d", c.max_tokens)
        return ChatAnswer(str(self.tokenizer.decode(new, skip_special_tokens=True)), cut_off=cut_off)

    def close(self) -> None:
        """Nothing to release but memory, which goes with the object."""

    def _encode(self, messages: Sequence[ChatMessage]) -> torch.Tensor:
        text = self.tokenizer.apply_chat_template([m.as_dict() for m in messages], tokenize=False,
                                                  add_generation_prompt=True)
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        context = getattr(self.model.config, "max_position_embeddings", None)
        if context is not None and ids.shape[1] + self.config.max_tokens > context:
            logger.warning("the planner prompt (%d tokens) + max_tokens exceed the model's context of %d",
                           ids.shape[1], context)
        return ids.to(self.model.device)


@contextlib.contextmanager
def _seeded(seed: int | None, model: PreTrainedModel) -> Iterator[None]:
    """Run the block on torch's RNG seeded with ``seed``, restoring the caller's RNG afterwards; no
    effect without a seed."""
    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _load(name: str, config: PlannerClientConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model and tokenizer at ``name`` on the configured device and dtype; raises
    ``PlannerModelLoadError``."""
    try:
        return load_causal_lm(name, device=config.device, dtype=config.dtype)
    except ModelLoadError as exc:
        raise PlannerModelLoadError(exc.model, exc.reason) from exc
