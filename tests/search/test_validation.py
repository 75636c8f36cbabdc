"""The declarative validator: rules in field metadata, every problem of a config reported at once."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from search.validation import ConfigError, Validated, setting, validate

CONFIG_CLASSES = [
    ("search.config", "SearchConfig"),
    ("search.backends.coq.config", "CoqBackendConfig"),
    ("search.backends.lean.dojo_config", "LeanDojoConfig"),
    ("search.backends.lean.repl_config", "LeanReplConfig"),
    ("planner.config", "PlannerClientConfig"),
    ("planner.config", "PlannerConfig"),
    ("prover.policies.hf_policy_config", "HFPolicyConfig"),
    ("prover.policies.openai_policy", "OpenAIPolicyConfig"),
    ("prover.parallel.policy_server", "PolicyServerConfig"),
    ("prover.retrieval.policy", "RetrievalConfig"),
    ("prover.sweep.config", "SweepConfig"),
    ("prover.expert.config", "FilterConfig"),
    ("prover.expert.config", "TrainConfig"),
    ("prover.expert.config", "ExpertConfig"),
    ("search.backends.coq.policy", "CoqTacticPolicy"),
    ("prover.tracing.coq_trace", "CoqTraceConfig"),
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sample(Validated):
    config_name = "sample configuration"

    count: int = setting(1, min=1, help="a count")
    share: float = setting(0.5, min=0, max=1, help="a share")
    rate: float | None = setting(None, above=0, finite=True, help="a rate")
    mode: str = setting("a", choices=("a", "b"), help="a mode")
    device: str = setting("cpu", pattern=(r"cpu|cuda(:\d+)?", "cpu or cuda:N"), help="a device")
    name: str = setting("x", nonblank=True, help="a name")
    words: tuple[str, ...] = setting(("w",), nonblank=True, min_items=1, help="some words")
    low: float = setting(0.0, help="the low end")
    high: float = setting(1.0, help="the high end")

    def cross_checks(self) -> list[str]:
        return [] if self.low <= self.high else [f"need low <= high, got {self.low}, {self.high}"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Converted(Validated):
    config_name = "converted configuration"

    word: str = setting("a", convert=lambda v: v.lower() if isinstance(v, str) else v,
                        choices=("a", "b"), help="a word, in any case")


def test_convert_normalises_before_the_rules_and_leaves_the_rest_to_them() -> None:
    assert Converted(word="B").word == "b"
    with pytest.raises(ConfigError, match="word must be one of a, b, got 'c'"):
        Converted(word="C")
    with pytest.raises(ConfigError, match="word must be a string"):
        Converted(word=3)  # type: ignore[arg-type]


def test_every_problem_is_reported_at_once_each_naming_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        Sample(count=0, share=1.5, rate=float("inf"), mode="c", device="gpu", name=" ", words=("", "w"))
    error = caught.value
    assert error.keys == ("count", "share", "rate", "mode", "device", "name", "words")
    assert str(error).startswith("invalid sample configuration: count must be >= 1, got 0; ")
    messages = [p.message for p in error.problems]
    assert "share must be in [0, 1], got 1.5" in messages
    assert "rate must be a finite number, got inf" in messages
    assert "mode must be one of a, b, got 'c'" in messages
    assert "device must be cpu or cuda:N, got 'gpu'" in messages
    assert isinstance(error, ValueError)  # callers that catch ValueError keep working


def test_types_are_checked_and_lists_and_integers_normalised() -> None:
    with pytest.raises(ConfigError) as caught:
        Sample(count="3", share=True, words=("a", 3))  # type: ignore[arg-type]
    assert [p.message for p in caught.value.problems] == [
        "count must be an integer, got '3'", "share must be a number, got True",
        "words must be a list of strings, got ('a', 3)"]
    sample = Sample(words=["a", "b"], share=1)  # type: ignore[arg-type]
    assert sample.words == ("a", "b") and isinstance(sample.share, float)


def test_cross_checks_are_reported_with_the_field_problems() -> None:
    with pytest.raises(ConfigError, match=r"need low <= high, got 2.0, 1.0") as caught:
        Sample(low=2.0, high=1.0)
    assert caught.value.keys == ("low",)
    with pytest.raises(ConfigError) as caught:  # every problem at once
        Sample(low=2.0, high=1.0, count=0)
    assert caught.value.keys == ("count", "low")
    with pytest.raises(ConfigError) as caught:  # a cross check that cannot run on a bad field is left out
        Sample(low="x", high=1.0)  # type: ignore[arg-type]
    assert caught.value.keys == ("low",)


def test_optional_fields_accept_none_and_required_ones_do_not() -> None:
    assert Sample(rate=None).rate is None
    with pytest.raises(ConfigError, match="count must be set, got None"):
        Sample(count=None)  # type: ignore[arg-type]


def test_error_survives_pickling_with_its_problems() -> None:
    import pickle

    with pytest.raises(ConfigError) as caught:
        Sample(count=0, mode="z")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.keys == ("count", "mode") and str(copy) == str(caught.value)


@pytest.mark.parametrize(("module", "name"), CONFIG_CLASSES)
def test_every_config_class_validates_declaratively(module: str, name: str) -> None:
    """Each config class uses the one validator (no hand-written ``__post_init__``), its every field has
    help, and its defaults pass its own rules."""
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Validated) and cls.__post_init__ is Validated.__post_init__
    assert all(f.metadata.get("help") for f in dataclasses.fields(cls))
    validate(cls())


def test_real_configs_report_several_problems() -> None:
    from prover.expert.config import FilterConfig
    from search import SearchConfig

    with pytest.raises(ConfigError) as caught:
        SearchConfig(alpha=-1, tactics_per_node=0, priority="nope", expansion_width=0)
    assert caught.value.keys == ("priority", "alpha", "tactics_per_node", "expansion_width")
    assert "unknown priority 'nope'" in str(caught.value)
    with pytest.raises(ConfigError, match="need easy_quantile_min <= easy_quantile_max"):
        FilterConfig(easy_quantile_min=0.3, easy_quantile_max=0.2)


def test_theorems_failure_scopes_and_tactic_lists_report_every_problem() -> None:
    """Data and policies of the engine use the same validator: every problem at once, named by key, and
    the instance named by its content where that helps (a theorem by its name)."""
    import math

    from search import FailureScope, FixedTacticPolicy, Theorem
    from search.backends.coq import CoqTacticPolicy

    with pytest.raises(ConfigError) as caught:
        Theorem(" ", "")
    assert caught.value.keys == ("name", "statement") and str(caught.value).startswith("invalid theorem: ")
    with pytest.raises(ConfigError, match=r"^invalid theorem 't': statement must not be empty$"):
        Theorem("t", "  ")
    with pytest.raises(ConfigError) as caught:
        FailureScope("", 0, -1.0, 0, math.inf)
    assert caught.value.keys == ("policy", "tactics_per_node", "tactic_timeout", "max_expansions",
                                 "time_limit")
    assert "policy must be the policy's fingerprint, got ''" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        FixedTacticPolicy(("simp", "simp", " "), priors=(0.5, -1.0, -2.0))
    assert caught.value.keys == ("tactics", "priors")
    assert "priors are log-probabilities and must be finite and <= 0, got [0.5]" in str(caught.value)
    with pytest.raises(ConfigError, match="tactics must be distinct, got 'simp' more than once"):
        FixedTacticPolicy(("simp", "ring", "simp"))
    with pytest.raises(ConfigError, match="priors has 1 values for 2 tactics"):
        FixedTacticPolicy(("simp", "ring"), priors=(-1.0,))
    with pytest.raises(ConfigError) as caught:
        CoqTacticPolicy(fixed=(("lia", 0.0), ("lia", 1.0)), max_names=-1, slow_limit=0, width=0,
                        definitions=("",))
    assert caught.value.keys == ("fixed", "max_names", "definitions", "slow_limit", "width")
    assert str(caught.value).startswith("invalid Coq tactic policy: fixed tactic weights must be finite")
    with pytest.raises(ConfigError, match="fixed tactics must be distinct, got 'lia' more than once"):
        CoqTacticPolicy(fixed=(("lia", 1.0), ("lia", 2.0)))
    assert CoqTacticPolicy(fixed=[("lia", 1)]).fixed == (("lia", 1),)  # type: ignore[arg-type]


def test_fields_a_class_derives_itself_are_not_settings() -> None:
    from search import FixedTacticPolicy

    policy = FixedTacticPolicy(("simp", "ring"))  # its ranked candidates are set after validation
    assert [c.tactic for c in policy.propose(["x"], 2)[0]] == ["simp", "ring"]


def test_enum_fields_are_type_checked() -> None:
    from planner.progress import PlanProgress, PlanStage

    with pytest.raises(ConfigError, match=r"stage must be one of planning, subgoal, main goal, direct "
                                          r"search, got 'subgoal'"):
        PlanProgress("subgoal")  # type: ignore[arg-type]
    line = PlanProgress(PlanStage.MAIN, subgoals=2, proved=2).line()
    assert line == "round 1 · main goal · 2/2 subgoals proved"


def test_no_hand_written_validation_is_left() -> None:
    """No ``__post_init__`` in ``search``, ``planner`` or ``prover`` raises by hand: rules live in field
    metadata (``setting``) and ``cross_checks``, so every problem is reported at once."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for package in ("search", "planner", "prover"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and node.name == "__post_init__" and any(
                        isinstance(inner, ast.Raise) for inner in ast.walk(node)):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
