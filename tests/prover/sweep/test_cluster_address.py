"""A cluster address nothing answers at is a clear error in seconds: Ray would retry it without end."""

from __future__ import annotations

import socket
import time

import pytest

from prover.sweep.runner import check_reachable
from prover.theorem_input import InputError


def test_an_address_nothing_listens_at_is_refused_quickly() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(InputError, match=rf"cannot reach the Ray cluster at 127\.0\.0\.1:{port} .*--address"):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5.0


def test_a_listening_address_and_ray_s_own_forms_pass() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")
    for address in ("local", "auto", "ray://head:10001"):
        check_reachable(address)  # Ray checks these itself, quickly
