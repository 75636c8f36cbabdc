"""Options generated from config dataclasses round-trip into validated configs."""

from __future__ import annotations

import argparse

import pytest

from prover.cli.options import add_config_options, config_from_args
from search import SearchConfig


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_config_options(parser, SearchConfig, prefix="search")
    return parser.parse_args(list(argv))


def test_every_field_becomes_an_option_with_help() -> None:
    parser = argparse.ArgumentParser()
    add_config_options(parser, SearchConfig)
    text = parser.format_help()
    for option in ("--alpha", "--tactics-per-node", "--max-expansions", "--time-limit",
                   "--tactic-timeout", "--max-depth", "--expansion-width"):
        assert option in text
    assert "depth^alpha" in text


def test_round_trip_with_optional_values() -> None:
    config = config_from_args(SearchConfig, parse("--search-alpha", "1.5", "--search-max-expansions", "9",
                                                  "--search-time-limit", "none"), prefix="search")
    assert config == SearchConfig(alpha=1.5, max_expansions=9, time_limit=None)


def test_validation_errors_surface() -> None:
    with pytest.raises(ValueError, match="tactics_per_node"):
        config_from_args(SearchConfig, parse("--search-tactics-per-node", "0"), prefix="search")


def test_a_list_of_numbers_is_read_as_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from prover.policies.hf_policy_config import HFPolicyConfig

    parser = argparse.ArgumentParser()
    add_config_options(parser, HFPolicyConfig, prefix="model")
    args = parser.parse_args(["--model-attempt-temperatures", "0.8 1.6"])
    assert config_from_args(HFPolicyConfig, args, prefix="model").attempt_temperatures == (0.8, 1.6)
    assert parser.parse_args([]).model_attempt_temperatures == ()
    with pytest.raises(SystemExit):
        parser.parse_args(["--model-attempt-temperatures", "0.8 hot"])
    assert "--model-attempt-temperatures: invalid list of float value: '0.8 hot'" in capsys.readouterr().err
