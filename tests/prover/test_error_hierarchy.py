"""One error hierarchy: what the user can cause (bad input, a model that does not load) is a
``ProverError``, the one base the CLI and the sweep workers' boundary know; the planner's model error is a
``ModelLoadError`` like the step prover's, so a sweep ends on either (``prover.sweep.pool.FATAL``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from test_error_pickling import EXCEPTIONS  # every exception class of the project, found by walking it

import prover.policies.hf_policy_config
from planner import PlannerError, PlannerModelLoadError
from prover.expert.stages import StageOrderError
from prover.expert.trajectories import NoSweepResultsError
from prover.parallel.batching import BatchResultError, PolicyClosedError
from prover.sweep.pool import FATAL
from prover.theorem_input import InputError
from prover.tracing.coq_files import TraceInputError
from prover.tracing.coq_source import SourceError
from prover.tracing.dataset import DatasetError
from search.backends.coq.goals import GoalDisplayError
from search.backends.coq.header_text import HeaderTextError
from search.backends.coq.sentences import SentenceError
from search.backends.lean.safety_lexer import LexError
from search.errors import ModelLoadError, PicklableError, ProverError
from search.validation import ConfigError


def test_input_and_model_load_errors_are_prover_errors() -> None:
    assert issubclass(InputError, ProverError) and issubclass(InputError, ValueError)
    assert issubclass(ModelLoadError, ProverError) and issubclass(ProverError, PicklableError)
    assert prover.policies.hf_policy_config.ModelLoadError is ModelLoadError  # one class everywhere


def test_the_planner_model_error_is_a_model_load_error_naming_its_role() -> None:
    error = PlannerModelLoadError("/models/planner", "no such directory")
    assert isinstance(error, ModelLoadError) and isinstance(error, PlannerError)
    assert isinstance(error, FATAL)  # a sweep stops at the first one instead of failing every theorem
    assert str(error) == "cannot load planner model '/models/planner': no such directory"
    assert str(ModelLoadError("/models/p", "x")) == "cannot load step-prover model '/models/p': x"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is PlannerModelLoadError and str(copy) == str(error)
    assert (copy.model, copy.reason) == ("/models/planner", "no such directory")


def test_every_project_exception_descends_from_prover_error() -> None:
    """Every exception class defined in ``search``, ``planner`` or ``prover`` (found by importing each
    module) is a ``ProverError``, so a new stray class fails here by name."""
    assert len(EXCEPTIONS) > 40  # the walk found the project's classes
    stray = [f"{cls.__module__}.{cls.__qualname__}" for cls in EXCEPTIONS
             if cls is not PicklableError and not issubclass(cls, ProverError)]
    assert stray == []


@pytest.mark.parametrize(("cls", "kept"), [
    (ConfigError, ValueError), (DatasetError, ValueError), (SourceError, ValueError),
    (TraceInputError, ValueError), (StageOrderError, RuntimeError), (NoSweepResultsError, FileNotFoundError),
    (BatchResultError, RuntimeError), (PolicyClosedError, RuntimeError), (LexError, ValueError),
    (SentenceError, ValueError), (GoalDisplayError, ValueError), (HeaderTextError, ValueError),
])
def test_errors_brought_under_the_base_keep_their_other_bases(cls: type[Exception], kept: type) -> None:
    """Callers' ``except ValueError`` (``RuntimeError``, ``FileNotFoundError``) clauses still catch them;
    what a user's input causes is an ``InputError``, which the CLI reports without a traceback."""
    assert issubclass(cls, ProverError) and issubclass(cls, kept)
    user_input = (DatasetError, SourceError, TraceInputError, StageOrderError, NoSweepResultsError)
    assert issubclass(cls, InputError) == (cls in user_input)


def test_a_stage_run_out_of_order_is_an_input_error_that_pickles(tmp_path: Path) -> None:
    error = StageOrderError(tmp_path, "train", "collect")
    with pytest.raises(InputError, match="stage 'train' needs 'collect'"):
        raise error
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is StageOrderError and (copy.folder, copy.stage, copy.missing) == (
        tmp_path, "train", "collect")
