"""Session-wide test settings: markers that skip where their requirement is missing."""

from __future__ import annotations

import os

import pytest


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lean_project = os.environ.get("PROVER_LEAN_PROJECT")
    skip_lean = pytest.mark.skip(reason="needs a built lean_project: set PROVER_LEAN_PROJECT")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    has_gpu = None
    for item in items:
        if "lean" in item.keywords and not lean_project:
            item.add_marker(skip_lean)
        if "gpu" in item.keywords:
            if has_gpu is None:
                has_gpu = _cuda_available()
            if not has_gpu:
                item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def ray_cluster():
    """One real two-node Ray cluster on this machine for the whole test session.

    Workers import test fixtures (``scripted``) by reference, so ``tests/`` goes on their PYTHONPATH. The
    head checks node health every 0.5 s, so a test that removes a node sees it declared dead in about a
    second (Ray's defaults take tens of seconds)."""
    import ray
    from ray.cluster_utils import Cluster

    tests_dir = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(tests_dir)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (tests_dir, root, os.environ.get("PYTHONPATH", "")) if p)
    node_args = {"num_cpus": 2, "object_store_memory": 128 * 1024 * 1024}
    health = {"health_check_period_ms": 500, "health_check_timeout_ms": 500,
              "health_check_failure_threshold": 3, "health_check_initial_delay_ms": 0}
    cluster = Cluster(initialize_head=True, head_node_args={**node_args, "include_dashboard": False,
                                                            "_system_config": health})
    cluster.add_node(**node_args)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
