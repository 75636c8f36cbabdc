"""A sweep without --address or $RAY_ADDRESS starts a Ray cluster of its own, even when another local
cluster is running and named in Ray's current-cluster file (where a plain ``ray.init()`` would go)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OTHER_CLUSTER = """
import sys
from ray.cluster_utils import Cluster
cluster = Cluster(initialize_head=True, head_node_args={
    "num_cpus": 0, "include_dashboard": False, "object_store_memory": 96 * 1024 * 1024})
print(cluster.address, cluster.head_node.node_id, flush=True)
sys.stdin.read()  # until the test closes our stdin
cluster.shutdown()
"""


@pytest.mark.slow
def test_a_sweep_without_an_address_never_joins_another_local_cluster(tmp_path: Path) -> None:
    import ray._private.utils as ray_utils

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_USAGE_STATS_ENABLED": "0"}
    other = subprocess.Popen([sys.executable, "-c", OTHER_CLUSTER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        address, node_id = other.stdout.readline().split()
        ray_utils.write_ray_address(address)  # as `ray start` does: now a plain ray.init() would join it
        out = tmp_path / "out"
        sweep = subprocess.run(
            [sys.executable, "-m", "prover.cli.main", "sweep", "coq_basic", "--backend", "coq", "--policy",
             "tactics", "--split", "test", "--limit", "2", "--workers", "1", "--max-expansions", "16",
             "--worker-start-timeout", "30", "--out", str(out)],
            env=env, capture_output=True, text=True, timeout=240)
        # the other cluster has no CPU: a sweep that joined it would wait 30 s for a worker and exit 3
        assert sweep.returncode == 0, sweep.stderr[-3000:]
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert len(records) == 2
        assert all(not r["worker"].endswith("@" + node_id[:8]) for r in records)
        assert ray_utils.read_ray_address() == address  # our cluster did not take over the file either
    finally:
        other.stdin.close()
        other.wait(timeout=60)
