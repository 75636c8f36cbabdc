"""Policies name themselves for the proof cache (fingerprints) and vary between the attempts of pass@N."""

from __future__ import annotations

from dataclasses import replace

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


def test_a_model_policy_attempt_draws_on_from_its_stream_under_its_own_name(
        tiny_model, tiny_tokenizer) -> None:
    def policy() -> HFPolicy:
        config = HFPolicyConfig(model="tiny", device="cpu", max_new_tokens=24, seed=7)
        return HFPolicy(config, model=tiny_model, tokenizer=tiny_tokenizer)

    sampling, reference = policy(), policy()
    one, two = for_attempt(sampling, 1), for_attempt(sampling, 2)
    assert len({one.fingerprint, two.fingerprint, sampling.fingerprint}) == 3
    assert one.fingerprint.startswith(sampling.fingerprint)
    # attempt 2 continues the generator attempt 1 advanced: not a replay of attempt 1's draws
    assert one.propose(STATES, 6) == reference.propose(STATES, 6)
    assert two.propose(STATES, 6) == reference.propose(STATES, 6)


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


def test_served_policies_carry_the_model_fingerprint_to_each_attempt() -> None:
    served = ServedPolicy(("handle",), "tiny", (None,), fingerprint="model:abc")
    remote = served()
    assert isinstance(remote, RemotePolicy) and remote.fingerprint == "model:abc"
    assert for_attempt(remote, 2).fingerprint == "model:abc#attempt=2"
    unnamed = RemotePolicy("handle")
    assert for_attempt(unnamed, 2) is unnamed and fingerprint_of(unnamed) is None


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
