"""SIGTERM stops a command as Ctrl-C does, and says so at once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

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


def test_ctrl_c_during_prove_says_what_prove_does_not_what_a_sweep_does(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import main as cli

    def interrupted(args, console):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGINT)  # the handler raises KeyboardInterrupt here
        raise AssertionError("not interrupted")

    monkeypatch.setattr(cli, "run_prove", interrupted)
    assert cli.main(["prove", "--backend", "coq", "Theorem t : True."]) == 130
    err = capsys.readouterr().err
    assert err == "stopping: ending the search and closing the proof assistant ...\ninterrupted\n"
    assert "workers" not in err and "keeping" not in err


def test_ctrl_c_during_a_sweep_keeps_its_wording(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import main as cli

    def interrupted(args, console):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("not interrupted")

    monkeypatch.setattr(cli, "run_sweep_command", interrupted)
    assert cli.main(["sweep", "coq_basic", "--backend", "coq", "--out", str(tmp_path / "s")]) == 130
    assert capsys.readouterr().err.startswith("stopping: closing workers and keeping what finished ...\n")
