"""Containment of runaway Coq work, with real coqtop: nothing a tactic starts outlives its budget, its
session, its pool or the process that owns it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, CoqSession
from search.backends.coq.coqtop import CoqTop
from search.backends.process_group import group_members
from search.types import TacticError, TacticState, TacticTimeout, Theorem

ROOT = Path(__file__).resolve().parents[3]

# `psatz R 4` here hands csdp a problem it works on for tens of seconds (measured ~20 s on the 2-core box);
# Coq's `Timeout` stops coqtop's side of it after 1 s and leaves csdpcert and csdp running.
PSATZ = Theorem(
    "psatz_hard",
    "Theorem psatz_hard : forall x y z a b c d : R, x*y*z*a*b*c*d >= 0 -> "
    "x^4*y^4 + z^4*a^4 + b^4*c^4 + x*y*z*a*b*c + a^3*b^3*c^3*d > 0 -> x*y*d + 3*z*a*b > c^5 + d^3.",
    "Require Import Reals Psatz.\nOpen Scope R_scope.")

# 24 goals whose context holds a term of 2^15 leaves (shared in memory, so built at once, but printed in
# full: about half a second a goal). Coq's `Timeout` covers the tactic, not the printing of its goals.
WIDE = Theorem("wide", "Theorem wide : forall (P : nat -> Prop) (n : nat), "
               + " /\\ ".join(["P n"] * 24) + ".")
BIG_GOALS = ("intros; let rec dbl k t := match k with O => t | S ?j => dbl j constr:(t + t) end in "
             "let big := dbl 15 n in pose (x := big); repeat split")


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except FileNotFoundError:
        return False
    return text[text.rfind(")") + 2] not in "ZX"


def strays(pid: int | None) -> list[int]:
    assert pid is not None
    return [p for p in group_members(pid) if p != pid]


def test_helpers_that_coqs_timeout_left_running_are_killed_and_the_session_goes_on() -> None:
    with CoqBackend() as backend, backend.open(PSATZ) as session:
        intro = session.run_tactic(session.initial_state(), "intros")
        assert isinstance(intro, TacticState)
        pid = session.pid
        result = session.run_tactic(intro, "psatz R 4", timeout=1)
        assert isinstance(result, TacticTimeout | TacticError), result
        assert strays(pid) == [], "csdpcert/csdp still compute after the tactic's answer"
        assert session.pid == pid and session.restarts == 0  # coqtop itself was kept
        assert isinstance(session.run_tactic(intro, "lra"), TacticError)  # in step, answering
        session.close()
        assert backend.pool.idle == 1 and strays(pid) == []  # parked with nothing running beside it


def test_the_pool_parks_a_coqtop_only_once_its_group_holds_nothing_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked = CoqTop.kill_strays

    def only_scans(top: CoqTop, *, scan: bool = False) -> list[int]:  # the session's own check is off
        return checked(top, scan=True) if scan else []

    monkeypatch.setattr(CoqTop, "kill_strays", only_scans)
    with CoqBackend() as backend, backend.open(PSATZ) as session:
        intro = session.run_tactic(session.initial_state(), "intros")
        assert isinstance(intro, TacticState)
        pid = session.pid
        session.run_tactic(intro, "psatz R 4", timeout=1)
        left = strays(pid)
        assert left, "the tactic left nothing running: this test checks nothing"
        session.close()
        assert backend.pool.idle == 1
        assert not any(running(p) for p in left)


@pytest.mark.slow
def test_a_step_whose_goals_print_past_its_limit_is_killed_and_the_session_recovers() -> None:
    config = CoqBackendConfig(kill_grace=1.0)
    with CoqSession(WIDE, config) as session:
        pid = session.pid
        started = time.monotonic()
        result = session.run_tactic(session.initial_state(), BIG_GOALS, timeout=1)
        seconds = time.monotonic() - started
        assert result == TacticTimeout(1), result  # not 24 goals printed one after the other
        assert seconds < 1 + config.kill_grace + 3, seconds
        assert pid is not None and not running(pid)
        after = session.run_tactic(session.initial_state(), "intros P n")
        assert isinstance(after, TacticState) and session.restarts == 1


OWNER = textwrap.dedent("""
    import sys
    from search.backends.coq import CoqBackendConfig
    from search.backends.coq.coqtop import CoqTop
    from search.backends.lifeline import lifeline
    top = CoqTop(CoqBackendConfig())
    top.start(60)
    top.command("Goal True.", 60)
    top.send(["(let rec f n := f (S n) in f 0)."])  # runs until killed: no Timeout around it
    print(top.pid, lifeline().guard_pid or 0, flush=True)
    sys.stdin.read()
""")


def kill_owner(script: str, wait_for: int) -> tuple[int, int]:
    """Run ``script`` as an owner process that prints two process ids (its subject, the guard), SIGKILL it
    as ``ray.kill`` or the memory monitor does (no cleanup runs in it), and give the guard up to 10 s to do
    its work: until the ``wait_for``-th id (0: subject, 1: guard) and the guard are gone. Returns both ids;
    the caller kills what is left."""
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        subject, guard = (int(word) for word in owner.stdout.readline().split())
        assert running(subject)
    finally:
        owner.kill()
        owner.wait()
    watched = (subject, guard)[wait_for]
    deadline = time.monotonic() + 10
    while (running(watched) or (guard and running(guard))) and time.monotonic() < deadline:
        time.sleep(0.05)
    return subject, guard


def test_a_runaway_coqtop_dies_with_the_process_that_owns_it() -> None:
    coqtop = guard = 0
    try:
        coqtop, guard = kill_owner(OWNER, wait_for=0)
        assert not running(coqtop), "coqtop computes on after its owner died"
        assert guard and not running(guard), "no guard, or one that outlived its work"
    finally:
        for pid in (coqtop, guard):
            if pid and running(pid):
                os.killpg(pid, signal.SIGKILL)


STRANGER = textwrap.dedent("""
    import subprocess, sys
    from search.backends.lifeline import lifeline
    # a group registered, then unregistered (closed and reaped): the guard must leave it alone
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    lifeline().register(stranger.pid)
    lifeline().unregister(stranger.pid)
    print(stranger.pid, lifeline().guard_pid, flush=True)
    sys.stdin.read()
""")


def test_the_guard_leaves_alone_a_group_no_longer_registered() -> None:
    stranger = 0
    try:
        stranger, guard = kill_owner(STRANGER, wait_for=1)
        assert not running(guard)
        assert running(stranger), "the guard killed a group that was no longer registered"
    finally:
        if stranger and running(stranger):
            os.kill(stranger, signal.SIGKILL)


def test_an_unreadable_goal_display_leaves_no_reply_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    import search.backends.coq.session as session_module

    three = Theorem("three", "Theorem three : forall n : nat, n = n /\\ n + 0 = n /\\ 0 + n = n.")
    parse = session_module.parse_shown_goal
    calls = []

    def fails_once(output: str, index: int) -> str:
        calls.append(index)
        if len(calls) == 1:
            raise session_module.GoalDisplayError("unreadable (test)")
        return parse(output, index)

    monkeypatch.setattr(session_module, "parse_shown_goal", fails_once)
    with CoqSession(three) as session:
        intro = session.run_tactic(session.initial_state(), "intros n")
        assert isinstance(intro, TacticState)
        broken = session.run_tactic(intro, "split; [|split]")  # three goals: `Show 2.` and `Show 3.` sent
        assert isinstance(broken, TacticError) and "unreadable" in broken.message and broken.transient
        # the reply to `Show 3.` was never read: the next answer must still be this tactic's own
        after = session.run_tactic(intro, "split")
        assert isinstance(after, TacticState) and len(after.goals) == 2, after
