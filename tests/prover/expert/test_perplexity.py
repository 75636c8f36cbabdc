"""Pair perplexities: tokenised like the trainer, batched with left padding, consistent with the model's own
loss and with the step prover's scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from prover.expert import encode_pair, load_scorer, log_perplexities

PAIRS = [
    ("x : ℕ\n⊢ x + 0 = x", "simp"),
    ("a b : ℕ\nh : a ≤ b\n⊢ a ≤ b + 1", "exact Nat.le_succ_of_le h"),
    ("p q : Prop\n⊢ p → q → p", "intro hp _"),
    ("⊢ True", "trivial"),
]


@pytest.fixture(scope="module")
def scorer(base_model_dir: Path):
    with torch_threads(1):
        yield load_scorer(str(base_model_dir), "cpu")


def test_pairs_are_encoded_as_prompt_then_tactic_then_eos(scorer) -> None:
    _, tokenizer = scorer
    state, tactic = PAIRS[1]
    encoded = encode_pair(tokenizer, state, tactic)
    prompt = tokenizer(f"{state}:::")["input_ids"]  # HFPolicy's prompt
    assert list(encoded.ids[: encoded.prompt_len]) == prompt
    assert encoded.ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(encoded.ids[encoded.prompt_len : -1]) == tactic


def test_batched_scores_equal_the_models_own_loss_on_the_tactic(scorer) -> None:
    import torch

    model, tokenizer = scorer
    with torch_threads(1):
        batched = log_perplexities(model, tokenizer, PAIRS, batch_size=4)
        for (state, tactic), score in zip(PAIRS, batched, strict=True):
            encoded = encode_pair(tokenizer, state, tactic)
            ids = torch.tensor([encoded.ids])
            labels = ids.clone()
            labels[0, : encoded.prompt_len] = -100
            with torch.inference_mode():
                loss = model(input_ids=ids, labels=labels).loss  # mean NLL over the unmasked labels
            assert score == pytest.approx(float(loss), abs=1e-5)
        assert log_perplexities(model, tokenizer, PAIRS, batch_size=1) == pytest.approx(batched, abs=1e-5)


def test_scores_agree_with_the_step_provers_logprobs(scorer) -> None:
    from prover.policies.hf_policy import HFPolicy
    from prover.policies.hf_policy_config import HFPolicyConfig

    model, tokenizer = scorer
    policy = HFPolicy(HFPolicyConfig(model="tiny", seed=1, temperature=1.0, max_new_tokens=16,
                                     max_prompt_tokens=128), model=model, tokenizer=tokenizer)
    state = PAIRS[0][0]
    with torch_threads(1):
        samples = [s for s in policy.sample([state], 8)[0] if s.finished and s.tactic]
        checked = 0
        for sample in samples:
            encoded = encode_pair(tokenizer, state, sample.tactic)
            if encoded.ids[encoded.prompt_len :] != sample.token_ids:
                continue  # the decoded text re-tokenises differently: not the same sequence
            [score] = log_perplexities(model, tokenizer, [(state, sample.tactic)])
            assert score == pytest.approx(-sample.logprob, abs=1e-4)
            checked += 1
    assert checked >= 1


def test_pairs_longer_than_the_limit_are_not_scored(scorer) -> None:
    model, tokenizer = scorer
    long_state = "x : ℕ\n" * 40 + "⊢ x = x"
    with torch_threads(1):
        scores = log_perplexities(model, tokenizer, [PAIRS[0], (long_state, "rfl")], max_length=64)
    assert scores[0] is not None and scores[0] > 0 and scores[1] is None
