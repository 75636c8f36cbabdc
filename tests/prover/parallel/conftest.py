"""Fixtures for the policy-server tests: the fake policies module, and the test session's one Ray cluster.

The fakes are pickled by value, so Ray workers need not import them. Ray 2.60 has no local mode: the
actors run in worker processes of the real two-node cluster that tests/conftest.py starts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from module_loading import load_module


def _load_fakes() -> ModuleType:
    """``fakes.py`` under a unique module name, pickled by value so Ray workers need not import it."""
    module = load_module("_prover_parallel_test_fakes", Path(__file__).with_name("fakes.py"))
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return module


@pytest.fixture(scope="session")
def fakes() -> ModuleType:
    """The fake policies (``EchoPolicy``, ``RecordingPolicy``, ``SleepingPolicy``, ``expected``, ...)."""
    return _load_fakes()


@pytest.fixture(scope="session")
def ray_session(fakes: ModuleType, ray_cluster) -> Iterator[None]:
    """The test session's one Ray cluster (``ray_cluster`` in tests/conftest.py), with the fakes loaded."""
    yield
