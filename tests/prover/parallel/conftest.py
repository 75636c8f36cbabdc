"""Fixtures for the policy-server tests: the fake policies module and ONE local Ray for the session.

Ray starts once (about 5 s) for every test that asks for ``ray_session`` and shuts down at the end of the
session. Ray 2.60 has no local mode, so the actors really run in worker processes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _load_fakes() -> ModuleType:
    """``fakes.py`` under a unique module name, pickled by value so Ray workers need not import it."""
    name = "_prover_parallel_test_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return module


@pytest.fixture(scope="session")
def fakes() -> ModuleType:
    """The fake policies (``EchoPolicy``, ``RecordingPolicy``, ``expected``)."""
    return _load_fakes()


@pytest.fixture(scope="session")
def ray_session(fakes: ModuleType) -> Iterator[None]:
    """A local Ray with 2 CPUs, no dashboard and no usage reporting; shut down after the session."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    # address="local": always a fresh cluster of our own, never one another process left running.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
