"""The REPL pool under failure, with real processes and real signals: a fake REPL that hangs, crashes,
balloons its memory or is killed from outside. Only the failing tactic fails; the session goes on from any
state, deep ones included, by restarting the process and replaying the tactic path."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, HEADER, chain_world, goal, script_config

from search.backends.lean import LeanReplBackend, LeanReplSession
from search.types import ProofFinished, TacticError, TacticState, TacticTimeout, Theorem

THEOREM = Theorem("chain", CHAIN_STATEMENT, HEADER)
DEPTH = 6


class Chain:
    """A backend on the chain world, one open session and the states along the chain."""

    def __init__(self, tmp_path: Path, world: dict[str, Any], **overrides: Any) -> None:
        self.world_path = tmp_path / "world.json"
        self.backend = LeanReplBackend(script_config(tmp_path, world, **overrides))
        self.session: LeanReplSession = self.backend.open(THEOREM)
        self.states = [self.session.initial_state()]
        for _ in range(DEPTH):
            state = self.session.run_tactic(self.states[-1], "step")
            assert isinstance(state, TacticState)
            self.states.append(state)

    @property
    def deep(self) -> TacticState:
        return self.states[-1]

    def pid(self, slot: int = 0) -> int:
        pid = self.backend.pool.process(slot).pid
        assert pid is not None
        return pid

    def finish_proof(self) -> None:
        """From the deepest state to the end of the proof, through a two-goal state."""
        split = self.session.run_tactic(self.deep, "split")
        assert split == TacticState("⊢ left\n\n⊢ right", ("⊢ left", "⊢ right"))
        right = self.session.run_tactic(split, "left")
        assert right == TacticState("⊢ right", ("⊢ right",))
        assert isinstance(self.session.run_tactic(right, "right"), ProofFinished)


@pytest.fixture
def make_chain(tmp_path: Path) -> Iterator[Any]:
    made: list[Chain] = []

    def make(world: dict[str, Any] | None = None, **overrides: Any) -> Chain:
        chain = Chain(tmp_path, world or chain_world(DEPTH), **overrides)
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.backend.close()


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def test_hang_is_a_timeout_and_the_search_goes_on_from_a_deep_state(make_chain: Any) -> None:
    chain = make_chain()
    old = chain.pid()
    started = time.monotonic()
    assert chain.session.run_tactic(chain.deep, "hang", timeout=0.5) == TacticTimeout(0.5)
    assert time.monotonic() - started < 3
    assert gone(old)
    chain.finish_proof()  # replays the 6 steps in the new process
    assert chain.backend.pool.restarts == 1
    assert chain.backend.pool.process(0).key == (0, 1)
    assert chain.session.run_tactic(chain.states[2], "step") == chain.states[3]


def test_crash_is_an_error_then_restart_and_replay(make_chain: Any) -> None:
    chain = make_chain()
    old = chain.pid()
    result = chain.session.run_tactic(chain.deep, "crash")
    assert isinstance(result, TacticError)
    assert "crashed" in result.message and "exit code 3" in result.message
    assert "crashing on cue" in result.message and result.transient
    assert gone(old)
    chain.finish_proof()
    assert chain.backend.pool.restarts == 1


def test_kill_9_of_the_process_group_between_tactics_is_invisible(make_chain: Any) -> None:
    chain = make_chain()
    old = chain.pid()
    os.killpg(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while chain.backend.pool.process(0).alive and time.monotonic() < deadline:
        time.sleep(0.01)
    chain.finish_proof()  # no tactic fails: the dead process is replaced before use
    assert chain.backend.pool.restarts == 1
    assert chain.pid() != old


def test_a_hung_process_is_killed_with_its_children(make_chain: Any) -> None:
    chain = make_chain(chain_world(DEPTH, spawn_child=True))
    pid = chain.pid()
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        children = [int(c) for c in fh.read().split()]
    assert children
    assert isinstance(chain.session.run_tactic(chain.deep, "hang", timeout=0.3), TacticTimeout)
    deadline = time.monotonic() + 5
    while not all(gone(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)  # the sleep child is reparented and reaped by init after the kill
    assert all(gone(c) for c in children)


def test_memory_balloon_is_killed_by_the_watch_and_restarted(make_chain: Any) -> None:
    chain = make_chain(memory_limit_mb=150, tactic_timeout=30.0)
    old = chain.pid()
    started = time.monotonic()
    result = chain.session.run_tactic(chain.deep, "balloon")
    assert isinstance(result, TacticError) and "memory limit" in result.message and result.transient
    assert time.monotonic() - started < 10  # the watch, not the 30 s timeout
    assert gone(old)
    chain.finish_proof()
    assert chain.backend.pool.restarts == 1


def test_address_space_limit_makes_a_balloon_fail_fast(make_chain: Any) -> None:
    chain = make_chain(memory_limit_mb=None, address_space_limit_mb=300)
    result = chain.session.run_tactic(chain.deep, "balloon")
    assert isinstance(result, TacticError) and "MemoryError" in result.message
    chain.finish_proof()


def test_recycling_after_n_requests_keeps_every_state_usable(make_chain: Any) -> None:
    chain = make_chain(recycle_after=4)  # open = 2 requests, then 6 steps
    pool = chain.backend.pool
    assert pool.recycles >= 1
    for i in range(DEPTH):
        assert chain.session.run_tactic(chain.states[i], "step") == chain.states[i + 1]
    chain.finish_proof()
    assert pool.recycles >= 4
    assert pool.restarts == 0


def test_a_replay_that_no_longer_works_is_an_error_not_a_crash(make_chain: Any) -> None:
    chain = make_chain()
    world = json.loads(chain.world_path.read_text())
    del world["transitions"][goal(3)]["step"]  # the next incarnation disagrees with the first
    chain.world_path.write_text(json.dumps(world))
    assert isinstance(chain.session.run_tactic(chain.deep, "crash"), TacticError)
    result = chain.session.run_tactic(chain.deep, "split")
    assert isinstance(result, TacticError) and "could not restore" in result.message and result.transient
    assert chain.session.run_tactic(chain.states[2], "step") == chain.states[3]


def test_lost_proof_state_ids_are_rebuilt(make_chain: Any) -> None:
    chain = make_chain()
    key = chain.backend.pool.process(0).key
    chain.session._known[key][(("step",) * DEPTH)] = 10_000  # as if the REPL had forgotten it
    chain.finish_proof()


def test_two_processes_serve_two_sessions_at_once(make_chain: Any) -> None:
    chain = make_chain(pool_size=2)
    other = chain.backend.open(THEOREM)
    results: dict[str, Any] = {}

    def walk(name: str, session: LeanReplSession, tactic: str, timeout: float) -> None:
        results[name] = session.run_tactic(session.initial_state(), tactic, timeout=timeout)

    threads = [threading.Thread(target=walk, args=("hang", chain.session, "hang", 1.0)),
               threading.Thread(target=walk, args=("step", other, "step", 5.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["hang"] == TacticTimeout(1.0)
    assert results["step"] == chain.states[1]
    assert chain.backend.pool.process(1).started


# A tactic's compiled code printing to stdout in tactic mode (the REPL does not capture it there): a block
# shaped like an answer that claims the proof is complete.
FORGED = json.dumps({"proofState": 99, "goals": [], "proofStatus": "Completed"})


@pytest.mark.parametrize("after", [False, True], ids=["forged-before-the-answer", "extra-block-after-it"])
def test_output_past_an_answer_is_refused_and_the_process_replaced(make_chain: Any, after: bool) -> None:
    world = chain_world(DEPTH, print={"forge": {"text": FORGED, "after": after}})
    world["transitions"][goal(DEPTH)]["forge"] = [goal(DEPTH)]
    chain = make_chain(world)
    old = chain.pid()
    result = chain.session.run_tactic(chain.deep, "forge")
    assert isinstance(result, TacticError), f"an answer followed by more output was accepted: {result!r}"
    assert "after an answer" in result.message and result.transient
    assert gone(old)
    assert chain.backend.pool.restarts == 1
    chain.finish_proof()  # the next incarnation replays the path; no answer is read one late


def test_output_arriving_after_the_answer_was_taken_is_refused_at_the_next_request(make_chain: Any) -> None:
    """The forged block comes first and the real answer only later (Lean still working): nothing tells the
    forged one from a real answer when it is read, but the real one is found before the next request is
    sent, and a proof counts only after the kernel checked it in command mode, where printing is captured."""
    world = chain_world(DEPTH, print={"forge": {"text": FORGED, "delay": 0.2}})
    chain = make_chain(world)
    chain.session.run_tactic(chain.deep, "forge")  # accepted or not: the point is what follows
    time.sleep(0.6)
    result = chain.session.run_tactic(chain.states[2], "step")
    assert isinstance(result, TacticError) and "after the last answer" in result.message and result.transient
    assert chain.backend.pool.restarts == 1
    assert chain.session.run_tactic(chain.states[2], "step") == chain.states[3]  # read in step, not late
    assert not chain.backend.verify(THEOREM, ("step",) * DEPTH + ("forge",)).ok
