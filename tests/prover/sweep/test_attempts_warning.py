"""A sweep with --attempts > 1 warns when every attempt would repeat one search: the policy draws nothing
at random and no sampling planner varies the plans."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sweep_fixtures import scripted_spec

from planner import PlannerClientConfig, PlannerConfig
from prover.planner_settings import PlannerSettings
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.openai_policy import OpenAIPolicyConfig
from prover.policies.spec import PolicySpec
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import RunSpec
from prover.sweep.runner import warn_if_attempts_repeat
from search import SearchConfig

SPEC = scripted_spec(SearchConfig())  # the built-in Lean tactic list


def with_policy(policy: PolicySpec) -> RunSpec:
    return replace(SPEC, policy=policy)


def test_a_deterministic_policy_with_several_attempts_is_warned_about(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="prover.sweep.runner"):
        assert warn_if_attempts_repeat(SPEC, 3)
    assert "--attempts 3 with a deterministic policy (tactics:built-in)" in caplog.text
    assert "pass@3 is pass@1 at 3 times the cost" in caplog.text
    assert warn_if_attempts_repeat(with_policy(PolicySpec("retrieval", "coq", retrieval=RetrievalConfig(
        corpus="traced"))), 2)
    greedy = OpenAIPolicyConfig(temperature=0.0, seed=3)  # greedy ignores the seed: every attempt alike
    assert warn_if_attempts_repeat(with_policy(PolicySpec("openai", "lean", endpoint=greedy)), 2)
    seeded_planner = PlannerSettings(PlannerClientConfig(seed=1), PlannerConfig())
    assert warn_if_attempts_repeat(replace(SPEC, planner=seeded_planner), 2)


def test_sampling_policies_single_attempts_and_sampled_plans_are_not_warned_about(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="prover.sweep.runner"):
        assert not warn_if_attempts_repeat(SPEC, 1)
        model = PolicySpec("model", "lean", model=HFPolicyConfig())
        assert not warn_if_attempts_repeat(with_policy(model), 4)
        scheduled = OpenAIPolicyConfig(temperature=0.0, attempt_temperatures=(0.8,))  # later ones sample
        assert not warn_if_attempts_repeat(with_policy(PolicySpec("openai", "lean", endpoint=scheduled)), 2)
        sampled = PlannerSettings(PlannerClientConfig(temperature=0.6), PlannerConfig())
        assert not warn_if_attempts_repeat(replace(SPEC, planner=sampled), 2)
    assert caplog.text == ""
