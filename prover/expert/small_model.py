"""A small step-prover model made from nothing but the training pairs: for machines with no downloaded
checkpoint (and no network), and for short fixed-time training runs on a CPU.

``build_small_model`` trains a byte-level BPE tokenizer on the pairs' own text in seconds (``tokenizers``),
builds a randomly initialised Qwen2 of a few layers from ``SmallModelConfig`` and saves both with
``save_pretrained``. The folder is then a base model like any other: ``train_sft`` (TRL) and
``prover train --model DIR`` train it, ``HFPolicy`` samples from it.

The tokenizer takes Qwen2's NFC normaliser and pre-tokeniser (letters in runs, every digit alone,
punctuation runs): ``AutoTokenizer`` on a saved folder whose config.json says ``qwen2`` may build a
Qwen2 tokenizer that imposes that pipeline, so any other would tokenise differently after a reload. The
prompt (``"{state}:::"``) and the tactic are separate texts to the BPE trainer, as ``encode_pair`` tokenises
them separately (no merge is learnt across the boundary). EOS is ``<|endoftext|>``, PAD ``<|pad|>``; no BOS
is added, as with Qwen.

tokenizers, torch and transformers are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.expert.training import quiet_progress
from prover.policies.step_prompt import step_prompt
from search.validation import Validated, setting

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

logger = logging.getLogger(__name__)

EOS = "<|endoftext|>"
PAD = "<|pad|>"
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"""
    r"""|\s+(?!\S)|\s+"""
)
BYTE_ALPHABET = 256  # the byte-level alphabet every vocabulary starts with
DESCRIPTION_FILE = "small_model.json"


@dataclass(frozen=True, kw_only=True)
class SmallModelConfig(Validated):
    """Validated shape of a small Qwen2 step prover and its tokenizer. The defaults train at a few steps a
    second on two CPU cores (about 1.6M parameters with a 4096-token vocabulary)."""

    config_name = "small model configuration"

    vocab_size: int = setting(
        4096, min=BYTE_ALPHABET + 2, help="BPE vocabulary size, special tokens included (at least 258)")
    hidden_size: int = setting(128, min=8, help="width of the residual stream")
    layers: int = setting(2, min=1, help="transformer layers")
    heads: int = setting(4, min=1, help="attention heads (hidden_size / heads must be even, for RoPE)")
    kv_heads: int = setting(2, min=1, help="key/value heads (grouped-query attention; divides heads)")
    intermediate_size: int = setting(512, min=1, help="width of each MLP")
    context: int = setting(1024, min=16, help="longest sequence in tokens (max_position_embeddings)")
    tie_embeddings: bool = setting(True, help="share the input embedding and the output layer")

    def cross_checks(self) -> list[str]:
        problems = []
        if self.hidden_size % self.heads or (self.hidden_size // self.heads) % 2:
            problems.append(f"hidden_size / heads must be an even whole number, got {self.hidden_size} / "
                            f"{self.heads}")
        if self.heads % self.kv_heads:
            problems.append(f"kv_heads must divide heads, got {self.kv_heads} and {self.heads}")
        return problems


def pair_texts(pairs: Iterable[tuple[str, str]]) -> Iterator[str]:
    """The texts a step prover's tokenizer meets: each pair's prompt and, separately, its tactic."""
    for state, tactic in pairs:
        yield step_prompt(state)
        yield tactic


def train_tokenizer(texts: Iterable[str], *, vocab_size: int, with_pad: bool = True,
                    ) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on ``texts`` (every byte is in its alphabet: any text round-trips).

    ``with_pad=False`` leaves the pad token unset, as many base-model tokenizers do. Raises ``ValueError``
    for a vocabulary too small for the bytes and special tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = [EOS, PAD] if with_pad else [EOS]
    if vocab_size < BYTE_ALPHABET + len(special):
        raise ValueError(f"vocab_size must be at least {BYTE_ALPHABET + len(special)}, got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    kwargs = {"pad_token": PAD} if with_pad else {}
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, **kwargs)


def qwen2_config(tokenizer: PreTrainedTokenizerFast, config: SmallModelConfig) -> Qwen2Config:
    """The transformers config of ``config``'s shape over ``tokenizer``'s vocabulary."""
    from transformers import Qwen2Config

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size, num_hidden_layers=config.layers,
        num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
        max_position_embeddings=config.context, tie_word_embeddings=config.tie_embeddings,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=pad_id)


def small_qwen2(tokenizer: PreTrainedTokenizerFast, config: SmallModelConfig, *, seed: int = 0,
                ) -> Qwen2ForCausalLM:
    """A randomly initialised Qwen2 (float32, eval mode; the same ``seed`` gives the same weights) whose
    generation config ends a tactic at the tokenizer's EOS."""
    import torch
    from transformers import Qwen2ForCausalLM

    hf_config = qwen2_config(tokenizer, config)
    torch.manual_seed(seed)
    # typeshed reads transformers' functools.wraps-wrapped ``to`` as unbound (see ``model_loading``)
    model = Qwen2ForCausalLM(hf_config).to(torch.float32)  # type: ignore[arg-type]
    model.generation_config.eos_token_id = hf_config.eos_token_id
    model.generation_config.pad_token_id = hf_config.pad_token_id
    return model.eval()


def build_small_model(pairs: Sequence[tuple[str, str]], out_dir: Path, config: SmallModelConfig, *,
                      seed: int = 0) -> Path:
    """Train the tokenizer on ``pairs`` (state, tactic), build the model and save both into ``out_dir``
    (written beside it and renamed into place, with ``small_model.json`` saying how it was made).

    Raises ``ValueError`` for no pairs or an ``out_dir`` that exists already."""
    if not pairs:
        raise ValueError("no pairs to train the tokenizer on")
    if out_dir.exists():
        raise ValueError(f"{out_dir}: exists already; choose a new folder for the small model")
    tokenizer = train_tokenizer(pair_texts(pairs), vocab_size=config.vocab_size)
    model = small_qwen2(tokenizer, config, seed=seed)
    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    with quiet_progress():
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
    description: dict[str, Any] = {"config": asdict(config), "seed": seed, "pairs": len(pairs),
                                   "vocab": len(tokenizer), "parameters": model.num_parameters()}
    (partial / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2), encoding="utf-8")
    os.replace(partial, out_dir)
    logger.info("small model (%d parameters, vocabulary %d) written to %s", description["parameters"],
                len(tokenizer), out_dir)
    return out_dir
