"""One error hierarchy: what the user can cause (bad input, a model that does not load) is a
``ProverError``, the one base the CLI and the sweep workers' boundary know; the planner's model error is a
``ModelLoadError`` like the step prover's, so a sweep ends on either (``prover.sweep.pool.FATAL``)."""

from __future__ import annotations

import pickle

import prover.policies.hf_policy_config
from planner import PlannerError, PlannerModelLoadError
from prover.sweep.pool import FATAL
from prover.theorem_input import InputError
from search.errors import ModelLoadError, PicklableError, ProverError


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
