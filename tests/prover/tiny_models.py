"""Tiny stand-ins for the step prover's model and tokenizer, built in seconds without any download.

Not tests: ``conftest.py`` in this folder loads these helpers and exposes them as session fixtures.

Both are built by the product's ``prover.expert.small_model`` (the small model a CPU can train), in a tinier
shape:

- ``tiny_tokenizer()``: a byte-level BPE with Qwen2's normaliser and pre-tokeniser, trained on a few lines of
  Lean-like text, so Lean's unicode (ℕ ∀ ⊢ ≤ →) and the ``:::`` separator round-trip exactly.
- ``tiny_qwen2(tokenizer)``: a 2-layer ``Qwen2ForCausalLM`` (float32, seeded), briefly trained on
  ``"{state}:::{tactic}<eos>"`` pairs so that it writes short tactics and ends them with EOS the way
  BFS-Prover-V2 does. A random model would almost never emit EOS and leave that path untested.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast, Qwen2ForCausalLM

from prover.expert.small_model import SmallModelConfig, small_qwen2, train_tokenizer

# The shape of the tiny model: 2 layers, hidden 64, 4 heads, 2 KV heads (its vocabulary is the tokenizer's).
TINY_SHAPE = SmallModelConfig(hidden_size=64, intermediate_size=128, layers=2, heads=4, kv_heads=2,
                              context=256)

# (state, tactics that prove or advance it). Several tactics per state give sampling something to choose.
TRAINING_PAIRS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("x : ℕ\n⊢ x + 0 = x", ("simp", "omega", "rfl")),
    ("⊢ ∀ (n : ℕ), n ≤ n + 1", ("intro n", "omega", "simp")),
    ("a b : ℕ\nh : a ≤ b\n⊢ a ≤ b + 1", ("omega", "linarith", "exact Nat.le_succ_of_le h")),
    ("p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", ("exact ⟨hp, hq⟩", "constructor", "tauto")),
    ("p q : Prop\n⊢ p → q → p", ("intro hp _", "tauto", "exact fun hp _ => hp")),
    ("x y : ℝ\nh : x < y\n⊢ x ≤ y", ("linarith", "exact le_of_lt h", "positivity")),
)

# Extra text so the BPE learns merges across the unicode Lean uses, not only the training pairs.
EXTRA_CORPUS: tuple[str, ...] = (
    "theorem foo (n : ℕ) : n + 0 = n := by simp",
    "∀ ε > 0, ∃ δ > 0, ∀ x, |x| < δ → |f x| < ε",
    "⊢ 2 ≤ 3 ∧ ¬ (3 ≤ 2) ∨ False ↔ True",
    "norm_num nlinarith [sq_nonneg (a - b)] field_simp ring_nf aesop decide",
    "h₀ : 0 < a\nh₁ : a ≠ 1\n⊢ Real.log a ≠ 0 ::: simp [h₀, h₁]",
)


def training_texts() -> list[str]:
    """Every ``"{state}:::{tactic}"`` line of the tiny training set (without EOS)."""
    return [f"{state}:::{tactic}" for state, tactics in TRAINING_PAIRS for tactic in tactics]


def tiny_tokenizer(*, vocab_size: int = 400, with_pad: bool = True) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the tiny corpus; EOS ``<|endoftext|>``, PAD ``<|pad|>``.

    ``with_pad=False`` leaves the pad token unset (as many base-model tokenizers do) so callers can test
    the fall-back to EOS. No BOS is added, as with Qwen.
    """
    return train_tokenizer([*training_texts(), *EXTRA_CORPUS] * 4, vocab_size=vocab_size, with_pad=with_pad)


def tiny_qwen2(
    tokenizer: PreTrainedTokenizerFast, *, seed: int = 0, train_steps: int = 60
) -> Qwen2ForCausalLM:
    """A 2-layer Qwen2 causal LM (hidden 64, 4 heads, 2 KV heads), float32, in eval mode.

    Seeded, so two calls give identical weights. ``train_steps`` Adam steps on the tiny training set teach
    it to end tactics with EOS; 0 leaves it random.
    """
    model = small_qwen2(tokenizer, TINY_SHAPE, seed=seed)
    if train_steps > 0:
        _train(model, tokenizer, train_steps)
    return model.eval()


def _train(model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast, steps: int) -> None:
    """Full-batch language-model training on ``state:::tactic<eos>`` lines (right-padded, pads ignored)."""
    rows = [tokenizer(text)["input_ids"] + [tokenizer.eos_token_id] for text in training_texts()]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.eos_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def save_tiny(directory: Path, model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast) -> Path:
    """Write model and tokenizer with ``save_pretrained`` so ``from_pretrained(directory)`` loads both."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
