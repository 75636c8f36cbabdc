"""Tokenisation with Qwen2.5's real vocabulary (BFS-Prover-V2's): Lean's unicode round-trips, the step
prover's prompts are the real token ids, and training rows keep the prompt/tactic boundary where the
prover meets it, also where Qwen's BPE would merge a token across it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from prover.expert.training import sft_dataset
from prover.policies.hf_policy import HFPolicy, HFPolicyConfig

BENCHMARKS = Path(__file__).resolve().parents[4] / "shared" / "benchmarks"
STATE = "a b : ℕ\nh₀ : a ≤ b\n⊢ ∀ ε > 0, ∃ δ, |(a : ℝ) - b| < δ + ε"
# Tactics whose first characters Qwen's BPE merges with the prompt's last ':' when tokenised together.
MERGING = ("(h₀.trans (Nat.le_succ b))", "_", "!simp", "<;> simp")


def statements() -> list[str]:
    rows = [json.loads(line) for path in sorted(BENCHMARKS.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["statement"] for row in rows]


def test_every_benchmark_statement_round_trips_with_the_real_ids(qwen_vocab) -> None:
    fast, encoding = qwen_vocab
    texts = statements()
    assert len(texts) > 2000
    for text in texts:
        prompt = f"{text}:::"
        ids = fast(prompt)["input_ids"]
        assert ids == encoding.encode(prompt, allowed_special=set())
        assert fast.decode(ids) == prompt


@pytest.fixture(scope="module")
def tiny_qwen_real_vocab(qwen_vocab):
    fast, _ = qwen_vocab
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(fast), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512)
    return Qwen2ForCausalLM(config).eval()


def test_the_step_provers_prompts_are_qwens_token_ids(qwen_vocab, tiny_qwen_real_vocab) -> None:
    fast, encoding = qwen_vocab
    policy = HFPolicy(HFPolicyConfig(device="cpu", seed=0, max_new_tokens=4), model=tiny_qwen_real_vocab,
                      tokenizer=fast)
    states = [STATE, "⊢ (2 : ℝ) ^ 3 = 8"]
    assert policy._encode_prompts(states) == [encoding.encode(f"{s}:::") for s in states]
    for samples in policy.sample(states, 2):
        for sample in samples:
            text_ids = sample.token_ids[:-1] if sample.finished else sample.token_ids
            assert fast.decode(list(text_ids), skip_special_tokens=True).strip() == sample.tactic


def test_training_rows_keep_the_boundary_where_the_prover_meets_it(qwen_vocab) -> None:
    fast, encoding = qwen_vocab
    prompt = encoding.encode(f"{STATE}:::")
    rows = sft_dataset([{"state": STATE, "tactic": tactic} for tactic in ("simp", *MERGING)], fast)
    for row, tactic in zip(rows, ("simp", *MERGING), strict=True):
        tactic_ids = encoding.encode(tactic)
        assert row["input_ids"] == [*prompt, *tactic_ids, fast.eos_token_id]
        assert row["completion_mask"] == [0] * len(prompt) + [1] * (len(tactic_ids) + 1)
    for tactic in MERGING:  # tokenised in one piece, these would have crossed the boundary
        joint = encoding.encode(f"{STATE}:::{tactic}")
        assert joint[: len(prompt)] != prompt
