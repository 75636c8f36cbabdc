"""A cluster address nothing answers at is a clear error in seconds, naming the address and the fix: Ray
would retry a ``host:port`` without end, and a ``ray://`` one for half a minute, then print a raw Python
warning and an error that names no address."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from prover.sweep.runner import check_reachable, connect_ray
from prover.theorem_input import InputError


def test_an_address_nothing_listens_at_is_refused_quickly() -> None:
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(InputError, match=rf"cannot reach the Ray cluster at 127\.0\.0\.1:{port} .*--address"):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5.0


def closed_port() -> int:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("address", ["127.0.0.1:99999", "ray://127.0.0.1:0", "10.0.0.1:65536"])
def test_a_port_out_of_range_is_named_before_any_connection(address: str) -> None:
    # socket would wrap 99999 to another port (34463) and test that one
    with pytest.raises(InputError, match=r"is not a TCP port \(1 to 65535\)"):
        check_reachable(address)


def test_a_listening_address_and_ray_s_own_forms_pass() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")
        check_reachable(f"ray://127.0.0.1:{server.getsockname()[1]}")
    for address in ("local", "auto", "ray://head", "anyscale://head:10001"):
        check_reachable(address)  # no port to try, or another scheme: Ray checks these itself


def test_a_ray_client_address_nothing_listens_at_is_refused_quickly_with_the_fix() -> None:
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(InputError) as error:
        check_reachable(f"ray://127.0.0.1:{port}")
    assert time.monotonic() - started < 5.0  # Ray's own client took 31 s
    message = str(error.value)
    assert message.startswith(f"cannot reach the Ray cluster at ray://127.0.0.1:{port} (")
    assert "given by --address: is its head node running (`ray start --head` on it)" in message
    assert "ray://HEAD:10001" in message and "drop --address" in message


def test_an_address_from_ray_address_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{closed_port()}")
    with pytest.raises(InputError, match=r"given by \$RAY_ADDRESS: .*Check \$RAY_ADDRESS .* or unset "
                                         r"\$RAY_ADDRESS to run on a local Ray cluster"):
        connect_ray(None)


def test_a_ray_client_handshake_that_times_out_is_one_clear_error_and_no_raw_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Something listens at the port, but no Ray Client server answers: Ray warns (a raw ``UserWarning``
    line on stderr) and raises ``ConnectionError("ray client connection timeout")``, as ray.util.client
    does after its retries. The user gets one error naming the address; Ray's warning goes to DEBUG."""
    import ray

    def init(**kwargs: object) -> None:
        warnings.warn("Ray Client connection timed out. Ensure that the Ray Client port on the head node is "
                      "reachable from your local machine.", UserWarning, stacklevel=1)
        raise ConnectionError("ray client connection timeout")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with socket.socket() as server, warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        with caplog.at_level(logging.DEBUG, logger="prover.sweep.runner"), pytest.raises(InputError) as error:
            connect_ray(address)
    assert not shown  # no warning reaches the user as a raw Python warning line
    message = str(error.value)
    assert message.startswith(f"cannot reach the Ray cluster at {address} (ray client connection timeout: "
                              "something listens at that port, but no Ray Client server answered)")
    assert "`ray start --head`" in message and "drop --address to run on a local Ray cluster" in message
    assert any("Ray Client connection timed out" in r.getMessage() and r.levelno == logging.DEBUG
               for r in caplog.records)


@pytest.mark.slow
def test_prover_sweep_at_a_silent_ray_client_port_exits_naming_the_address(tmp_path: Path) -> None:
    """The real thing: ``prover sweep --address ray://...`` at a port that accepts connections and never
    speaks (Ray's client retries shortened to seconds by its own environment variables)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S": "1",
               "RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S": "2"}
        env.pop("RAY_ADDRESS", None)
        argv = ["sweep", "coq_basic", "--backend", "coq", "--split", "test", "--limit", "1", "--address",
                address, "--out", str(tmp_path / "out")]
        done = subprocess.run([sys.executable, "-m", "prover.cli.main", *argv], capture_output=True,
                              text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr
    assert f"error: cannot reach the Ray cluster at {address} (ray client connection timeout" in done.stderr
    assert not (tmp_path / "out").exists()
