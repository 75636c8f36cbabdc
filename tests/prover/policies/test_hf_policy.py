"""HFPolicy on a tiny Qwen2: output shape, batching, exact log-probabilities, de-duplication and loading."""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path

import pytest
import torch

from prover.policies.hf_policy import HFPolicy, HFPolicyConfig, ModelLoadError, TacticSample
from search.protocols import Policy

STATES = (
    "x : ℕ\n⊢ x + 0 = x",
    "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q",
    "⊢ ∀ (n : ℕ), n ≤ n + 1",
)


@pytest.fixture(params=["shared-prefix", "generate"])
def sampler(request) -> str:
    """Every sampling test runs with both samplers."""
    return request.param


def make_policy(model, tokenizer, **overrides) -> HFPolicy:
    settings = {"device": "cpu", "max_new_tokens": 24, "seed": 0, **overrides}
    return HFPolicy(HFPolicyConfig(**settings), model=model, tokenizer=tokenizer)


def manual_logprob(model, tokenizer, state: str, token_ids: tuple[int, ...]) -> float:
    """Mean log-softmax of one unpadded forward pass over prompt + generated tokens, at those tokens."""
    prompt = tokenizer(f"{state}:::")["input_ids"]
    ids = torch.tensor([prompt + list(token_ids)])
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0].float()
    predicting = logits[len(prompt) - 1 : len(prompt) - 1 + len(token_ids)]
    picked = torch.log_softmax(predicting, dim=-1).gather(1, torch.tensor(token_ids)[:, None])
    return float(picked.mean())


def assert_well_formed(candidates, n: int) -> None:
    assert len(candidates) <= n
    tactics = [c.tactic for c in candidates]
    assert len(set(tactics)) == len(tactics), tactics
    assert all(t and t == t.strip() for t in tactics)
    logprobs = [c.logprob for c in candidates]
    assert logprobs == sorted(logprobs, reverse=True)
    assert all(lp <= 0 for lp in logprobs)


def test_is_a_policy(sampler, tiny_model, tiny_tokenizer):
    assert isinstance(make_policy(tiny_model, tiny_tokenizer, sampler=sampler), Policy)


def test_propose_gives_at_most_n_distinct_sorted_candidates_per_state(sampler, tiny_model, tiny_tokenizer):
    out = make_policy(tiny_model, tiny_tokenizer, sampler=sampler).propose(STATES, 6)
    assert len(out) == len(STATES)
    for candidates in out:
        assert candidates
        assert_well_formed(candidates, 6)
    # At temperature 1.3 a model trained on three tactics per state proposes more than one.
    assert any(len(c) > 1 for c in out)


def test_batches_smaller_than_the_state_list_keep_per_state_results(sampler, tiny_model, tiny_tokenizer):
    states = [STATES[i % len(STATES)] + " " * (i // len(STATES)) for i in range(7)]
    # Near-greedy sampling: each state's answer must not depend on which batch it shared or its padding.
    alone = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, temperature=1e-4,
                        batch_size=1).propose(states, 3)
    batched = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, temperature=1e-4,
                          batch_size=2).propose(states, 3)
    assert len(batched) == len(states)
    for one, many in zip(alone, batched, strict=True):
        assert_well_formed(many, 3)
        assert [c.tactic for c in one] == [c.tactic for c in many]
        assert [c.logprob for c in one] == pytest.approx([c.logprob for c in many], abs=1e-4)


@pytest.mark.parametrize("trained", [True, False], ids=["ends-with-eos", "cut-at-max-tokens"])
def test_logprob_is_mean_raw_logprob_of_the_generated_tokens(
    sampler, tiny_models, tiny_model, tiny_tokenizer, trained
):
    model = tiny_model if trained else tiny_models.tiny_qwen2(tiny_tokenizer, seed=1, train_steps=0)
    policy = make_policy(model, tiny_tokenizer, sampler=sampler, batch_size=2,
                         max_new_tokens=24 if trained else 5)
    samples = policy.sample(STATES, 4)
    flat = [(state, s) for state, per_state in zip(STATES, samples, strict=True) for s in per_state]
    assert all(len(per_state) == 4 for per_state in samples)
    for state, s in flat:
        assert s.logprob == pytest.approx(manual_logprob(model, tiny_tokenizer, state, s.token_ids), abs=1e-4)
        eos = tiny_tokenizer.eos_token_id
        assert (s.token_ids[-1] == eos) == s.finished
        assert eos not in s.token_ids[:-1]
    # Each parametrisation must exercise its path: EOS scored, or a tactic cut off at max_new_tokens.
    if trained:
        assert any(s.finished for _, s in flat)
    else:
        assert any(not s.finished and len(s.token_ids) == 5 for _, s in flat)


def test_propose_is_the_distinct_best_of_the_samples(sampler, tiny_model, tiny_tokenizer):
    samples = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=7).sample(STATES, 8)
    proposed = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=7).propose(STATES, 8)
    for per_state, candidates in zip(samples, proposed, strict=True):
        expected: dict[str, float] = {}
        for s in per_state:
            if s.tactic:
                expected[s.tactic] = max(s.logprob, expected.get(s.tactic, -float("inf")))
        assert {c.tactic: c.logprob for c in candidates} == expected


def test_identical_samples_become_one_candidate(sampler, tiny_model, tiny_tokenizer):
    policy = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, temperature=1e-4)
    samples = policy.sample(STATES, 8)
    assert all(len({s.tactic for s in per_state}) == 1 for per_state in samples)
    out = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, temperature=1e-4).propose(STATES, 8)
    assert [len(c) for c in out] == [1, 1, 1]


def test_a_checkpoints_generation_config_does_not_change_the_sampler(sampler, tiny_model, tiny_tokenizer):
    # Either setting alone, if it leaked from the checkpoint into generate, would make every sample identical.
    model = copy.deepcopy(tiny_model)
    model.generation_config.top_k = 1
    model.generation_config.min_p = 0.999
    out = make_policy(model, tiny_tokenizer, sampler=sampler, temperature=1.3).propose(STATES, 8)
    assert any(len(c) > 1 for c in out)


def test_a_seed_makes_sampling_reproducible_and_leaves_the_global_rng_alone(
        sampler, tiny_model, tiny_tokenizer):
    rng_before = torch.get_rng_state()
    first = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=11).propose(STATES, 6)
    torch.rand(5)  # other users of the global RNG must not change a seeded policy's samples
    second = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=11).propose(STATES, 6)
    assert first == second
    torch.set_rng_state(rng_before)
    make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=11).propose(STATES, 2)
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_too_long_states_are_skipped_with_a_warning(sampler, tiny_model, tiny_tokenizer, caplog):
    long_state = "⊢ " + " ∧ ".join(f"x{i} ≤ {i}" for i in range(40))
    policy = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, max_prompt_tokens=40)
    with caplog.at_level(logging.WARNING, logger="prover.policies.hf_policy"):
        out = policy.propose([STATES[0], long_state, STATES[1]], 4)
    assert out[1] == []
    assert out[0] and out[2]
    assert any("skipping state 1" in r.getMessage() for r in caplog.records)


def test_edge_counts(sampler, tiny_model, tiny_tokenizer):
    policy = make_policy(tiny_model, tiny_tokenizer, sampler=sampler)
    assert policy.propose([], 4) == []
    assert policy.propose(STATES, 0) == [[], [], []]
    with pytest.raises(ValueError, match="n must be >= 0"):
        policy.propose(STATES, -1)


def test_a_tokenizer_without_pad_token_pads_with_eos(sampler, tiny_models):
    tokenizer = tiny_models.tiny_tokenizer(with_pad=False)
    assert tokenizer.pad_token_id is None
    model = tiny_models.tiny_qwen2(tokenizer, train_steps=0)
    samples = make_policy(model, tokenizer, sampler=sampler, max_new_tokens=3).sample(STATES, 2)
    for state, per_state in zip(STATES, samples, strict=True):
        for s in per_state:
            assert isinstance(s, TacticSample)
            assert s.logprob == pytest.approx(manual_logprob(model, tokenizer, state, s.token_ids), abs=1e-4)


def test_loads_a_saved_model_directory_with_from_pretrained(
        sampler, tiny_model, tiny_tokenizer, tiny_model_dir: Path):
    loaded = HFPolicy(HFPolicyConfig(model=str(tiny_model_dir), device="auto", max_new_tokens=24, seed=5,
                                     sampler=sampler))
    assert loaded.model.dtype == torch.float32  # "auto" on cpu
    assert loaded.model.device.type == "cpu"
    lean = "h : ∀ ε > 0, a ≤ b → c\n⊢ n ∈ ℕ ∧ 10 ≠ 0:::"
    assert loaded.tokenizer(lean)["input_ids"] == tiny_tokenizer(lean)["input_ids"]
    assert loaded.tokenizer.decode(tiny_tokenizer(lean)["input_ids"]) == lean
    in_memory = make_policy(tiny_model, tiny_tokenizer, sampler=sampler, seed=5)
    assert loaded.propose(STATES, 4) == in_memory.propose(STATES, 4)


def test_a_missing_model_path_is_a_model_load_error(tmp_path: Path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="no-such-model") as info:
        HFPolicy(HFPolicyConfig(model=str(missing), device="cpu"))
    assert info.value.model == str(missing)


def test_defaults_follow_bfs_prover_v2():
    config = HFPolicyConfig()
    assert config.model == "ByteDance-Seed/BFS-Prover-V2-7B"
    assert config.temperature == 1.3
    assert all(f.metadata.get("help") for f in dataclasses.fields(HFPolicyConfig))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.temperature = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", " "),
        ("device", "gpu"),
        ("device", "cuda:x"),
        ("dtype", "int8"),
        ("temperature", 0.0),
        ("temperature", float("nan")),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("max_new_tokens", 0),
        ("batch_size", 0),
        ("max_prompt_tokens", 0),
        ("seed", -1),
    ],
)
def test_invalid_config_values_are_rejected(field: str, value: object):
    with pytest.raises(ValueError, match=field):
        HFPolicyConfig(**{field: value})


def test_config_reports_every_problem_at_once():
    with pytest.raises(ValueError, match=r"temperature.*batch_size"):
        HFPolicyConfig(temperature=-1.0, batch_size=0)
