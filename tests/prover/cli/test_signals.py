"""SIGTERM stops a command as Ctrl-C does, and says so at once."""

from __future__ import annotations

import os
import signal

import pytest

from prover.cli.signals import stop_signals


@pytest.mark.parametrize(("signum", "terminated"), [(signal.SIGTERM, True), (signal.SIGINT, False)])
def test_a_stop_signal_raises_keyboard_interrupt_and_is_named(signum: int, terminated: bool,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), stop_signals() as stop:
        os.kill(os.getpid(), signum)
    assert stop.terminated is terminated and stop.signal == signum
    assert capsys.readouterr().err == "stopping: closing workers and keeping what finished ...\n"
    assert signal.getsignal(signal.SIGTERM) is before  # restored
