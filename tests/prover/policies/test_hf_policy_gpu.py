"""The transformers policy on a CUDA GPU: bf16 weights by default, batched sampling, and log-probs that
match a manual forward pass of the same weights (skipped where no GPU is present)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from prover.policies.hf_policy import HFPolicy
from prover.policies.hf_policy_config import HFPolicyConfig

pytestmark = pytest.mark.gpu

STATES = ["n : ℕ\n⊢ n + 0 = n", "a b : ℕ\nh : a ≤ b\n⊢ a < b + 1", "⊢ 2 + 2 = 4"] * 4


def manual_logprob(model, tokenizer, state: str, token_ids: tuple[int, ...]) -> float:
    prompt = tokenizer(f"{state}:::")["input_ids"]
    ids = torch.tensor([prompt + list(token_ids)], device=model.device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0].float()
    predicting = logits[len(prompt) - 1 : len(prompt) - 1 + len(token_ids)]
    index = torch.tensor(token_ids, device=model.device)[:, None]
    return float(torch.log_softmax(predicting, dim=-1).gather(1, index).mean())


@pytest.mark.parametrize("sampler", ["shared-prefix", "generate"])
@pytest.mark.parametrize(("dtype", "tolerance"), [("auto", 0.08), ("float32", 1e-3)])
def test_cuda_sampling_and_logprobs(tiny_model_dir, dtype: str, tolerance: float, sampler: str) -> None:
    policy = HFPolicy(HFPolicyConfig(model=str(tiny_model_dir), device="cuda", dtype=dtype, seed=0,
                                     max_new_tokens=16, batch_size=4, sampler=sampler))
    assert policy.sampler == sampler
    expected_dtype = torch.bfloat16 if dtype == "auto" else torch.float32
    assert next(policy.model.parameters()).dtype == expected_dtype
    assert policy.model.device.type == "cuda"
    samples = policy.sample(STATES, 4)
    assert len(samples) == len(STATES)
    reference = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=expected_dtype).cuda()
    checked = 0
    for state, per_state in zip(STATES, samples, strict=True):
        assert len(per_state) == 4
        for sample in per_state:
            manual = manual_logprob(reference, policy.tokenizer, state, sample.token_ids)
            assert sample.logprob == pytest.approx(manual, abs=tolerance)
            checked += 1
    assert checked == 4 * len(STATES)
    proposals = policy.propose(STATES, 4)
    assert all(len({c.tactic for c in cands}) == len(cands) for cands in proposals)
