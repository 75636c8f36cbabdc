"""Policies name themselves for the proof cache (fingerprints) and vary between the attempts of pass@N."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_openai_policy import FakeEndpoint, make_policy

from prover.parallel.policy_server import RemotePolicy
from prover.policies.hf_policy import HFPolicy
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.openai_policy import OpenAIPolicyConfig
from prover.policies.spec import ServedPolicy
from search import FixedTacticPolicy, fingerprint_of, for_attempt

STATES = ["x : ℕ\n⊢ x + 0 = x", "⊢ True"]


def test_a_fixed_list_has_a_stable_fingerprint_and_repeats_itself_in_every_attempt() -> None:
    policy = FixedTacticPolicy(("simp", "ring"))
    assert policy.fingerprint == FixedTacticPolicy(("simp", "ring")).fingerprint
    assert policy.fingerprint != FixedTacticPolicy(("ring", "simp")).fingerprint
    assert policy.fingerprint != FixedTacticPolicy(("simp", "ring"), priors=(-1.0, -0.5)).fingerprint
    assert for_attempt(policy, 3) is policy


def test_model_and_endpoint_fingerprints_count_what_changes_the_samples() -> None:
    model = HFPolicyConfig(model="m")
    assert model.fingerprint == HFPolicyConfig(model="m", device="cpu", batch_size=3).fingerprint
    for change in ({"temperature": 1.0}, {"top_p": 0.9}, {"seed": 1}, {"model": "n"}, {"max_new_tokens": 9},
                   {"sampler": "generate"}, {"dtype": "float16"}):
        assert replace(model, **change).fingerprint != model.fingerprint, change
    endpoint = OpenAIPolicyConfig(model="m")
    assert endpoint.fingerprint == replace(endpoint, timeout_s=5.0, parallel_requests=1).fingerprint
    for change in ({"temperature": 0.0}, {"seed": 4}, {"base_url": "http://other/v1"}, {"stop": ("\n",)}):
        assert replace(endpoint, **change).fingerprint != endpoint.fingerprint, change


def test_a_model_retrained_into_the_same_folder_is_another_policy(tmp_path) -> None:
    """Failures a proof cache holds for the old weights must not be reused for the new ones."""
    (tmp_path / "model.safetensors").write_bytes(b"round 1")
    before = HFPolicyConfig(model=str(tmp_path)).fingerprint
    assert HFPolicyConfig(model=str(tmp_path)).fingerprint == before
    (tmp_path / "model.safetensors").write_bytes(b"round 2 weights")
    assert HFPolicyConfig(model=str(tmp_path)).fingerprint != before


def test_a_seeded_model_policy_samples_each_attempt_from_its_own_seed(tiny_model, tiny_tokenizer) -> None:
    """Attempt k draws from seed + k - 1 whatever ran before it, so attempt 2 run first by a fresh worker
    is no replay of attempt 1; each attempt is named by the settings it samples with."""
    def policy(seed: int = 7, **settings: object) -> HFPolicy:
        config = HFPolicyConfig(model="tiny", device="cpu", max_new_tokens=24, seed=seed, **settings)
        return HFPolicy(config, model=tiny_model, tokenizer=tiny_tokenizer)

    sampling = policy()
    one, two = for_attempt(sampling, 1), for_attempt(sampling, 2)
    assert one is sampling and for_attempt(sampling, 2) is two  # one policy per attempt's settings
    assert isinstance(two, HFPolicy) and two.model is sampling.model and two.config.seed == 8
    assert len({one.fingerprint, two.fingerprint}) == 2
    first = one.propose(STATES, 6)
    assert two.propose(STATES, 6) == policy(seed=8).propose(STATES, 6)  # after attempt 1: its own stream
    assert for_attempt(policy(), 2).propose(STATES, 6) == policy(seed=8).propose(STATES, 6)  # or first
    assert first == policy().propose(STATES, 6)


def test_a_temperature_schedule_sets_each_later_attempt_temperature(tiny_model, tiny_tokenizer) -> None:
    config = HFPolicyConfig(model="tiny", device="cpu", max_new_tokens=8, attempt_temperatures=(1e-4, 2.0))
    sampling = HFPolicy(config, model=tiny_model, tokenizer=tiny_tokenizer)
    attempts = {k: for_attempt(sampling, k) for k in (1, 2, 3, 4)}
    assert [a.policy.config.temperature for a in attempts.values()] == [1.3, 1e-4, 2.0, 2.0]  # type: ignore[attr-defined]
    assert attempts[1].policy is sampling and attempts[3].policy is attempts[4].policy  # type: ignore[attr-defined]
    assert len({a.fingerprint for a in attempts.values()}) == 4  # unseeded: each attempt is named
    # the schedule takes effect: near-greedy attempt 2 draws one tactic however often it samples
    assert [len(c) for c in attempts[2].propose(STATES, 8)] == [1, 1]
    assert max(len(c) for c in attempts[1].propose(STATES, 8)) > 1
    assert replace(config, attempt_temperatures=(1.0,)).fingerprint != config.fingerprint


def test_temperature_schedules_are_validated() -> None:
    from search.validation import ConfigError

    for bad in ((0.0,), (-1.0,), (float("nan"),)):
        with pytest.raises(ConfigError, match="attempt_temperatures must be finite and > 0"):
            HFPolicyConfig(attempt_temperatures=bad)
    with pytest.raises(ConfigError, match="attempt_temperatures must be finite and >= 0"):
        OpenAIPolicyConfig(attempt_temperatures=(-0.5,))
    assert OpenAIPolicyConfig(attempt_temperatures=(0, 1)).attempt_temperatures == (0.0, 1.0)


def test_an_endpoint_policy_sends_each_attempt_its_own_seed() -> None:
    endpoint = FakeEndpoint()
    try:
        with make_policy(endpoint, seed=40) as policy:
            assert for_attempt(policy, 1) is policy
            third = for_attempt(policy, 3)
            assert for_attempt(policy, 3) is third  # one client per attempt, closed with the policy
            assert fingerprint_of(third) != fingerprint_of(policy)
            policy.propose(STATES, 2)
            third.propose(STATES, 2)
        assert [body["seed"] for _, _, body in endpoint.requests] == [40, 42]
        with make_policy(endpoint) as unseeded:  # the endpoint's randomness differs; the name says which
            assert for_attempt(unseeded, 2).fingerprint == unseeded.fingerprint + "#attempt=2"
        with make_policy(endpoint, temperature=0.0) as greedy:  # greedy decoding is the same every time
            assert for_attempt(greedy, 2) is greedy
    finally:
        endpoint.close()


def test_an_endpoint_policy_sends_each_attempt_its_scheduled_temperature() -> None:
    endpoint = FakeEndpoint()
    try:
        with make_policy(endpoint, temperature=0.0, seed=5, attempt_temperatures=(0.8, 1.2)) as policy:
            for attempt in (1, 2, 3, 5):
                for_attempt(policy, attempt).propose(STATES[:1], 1)
            assert for_attempt(policy, 5) is for_attempt(policy, 5)
        sent = [(body["temperature"], body["seed"]) for _, _, body in endpoint.requests]
        assert sent == [(0.0, 5), (0.8, 6), (1.2, 7), (1.2, 9)]
        with make_policy(endpoint, temperature=0.0, attempt_temperatures=(0.8,)) as unseeded:
            assert for_attempt(unseeded, 1) is unseeded  # greedy: named by its settings alone
            second = for_attempt(unseeded, 2)
            assert second.fingerprint.endswith("#attempt=2") and second.policy.config.temperature == 0.8  # type: ignore[attr-defined]
    finally:
        endpoint.close()


def test_served_policies_carry_the_model_fingerprint_to_each_attempt() -> None:
    served = ServedPolicy(("handle",), "tiny", (None,), fingerprint="model:abc")
    remote = served()
    assert isinstance(remote, RemotePolicy) and remote.fingerprint == "model:abc"
    assert for_attempt(remote, 2).fingerprint == "model:abc#attempt=2"
    assert for_attempt(for_attempt(remote, 2), 3).fingerprint == "model:abc#attempt=3"
    unnamed = RemotePolicy("handle")
    second = for_attempt(unnamed, 2)
    assert second.attempt == 2 and fingerprint_of(second) is None and fingerprint_of(unnamed) is None  # type: ignore[attr-defined]


def test_wrappers_carry_the_fingerprint_of_the_policy_they_wrap() -> None:
    """Batching and lazy building change no proposal, so a proof cache treats them as the wrapped policy:
    failures found through them are reused exactly where the wrapped policy's would be."""
    from prover.parallel.batching import BatchingPolicy
    from prover.policies.spec import LazyPolicy, PolicySpec
    from search import DEFAULT_LEAN_TACTICS, Theorem
    from search.backends.coq import CoqTacticPolicy

    fixed = FixedTacticPolicy(("simp", "ring"))
    with BatchingPolicy(fixed, max_wait_ms=0) as batching:
        assert batching.fingerprint == fixed.fingerprint
    with BatchingPolicy(RemotePolicy("handle"), max_wait_ms=0) as unnamed:
        assert fingerprint_of(unnamed) is None
    lean = LazyPolicy(PolicySpec("tactics", "lean"))
    assert lean.fingerprint == FixedTacticPolicy(DEFAULT_LEAN_TACTICS).fingerprint
    theorem = Theorem("t", "Theorem t : double 1 = 2.", "Definition double (n : nat) := n + n.")
    coq = LazyPolicy(PolicySpec("tactics", "coq"), theorem)  # specialised to the theorem's header
    specialised = CoqTacticPolicy().for_theorem(theorem)
    assert coq.fingerprint == specialised.fingerprint != CoqTacticPolicy().fingerprint
