"""Proof minimisation: the steps a found proof does not need are dropped, what is left still closes the
proof, and a proof that does not replay gives nothing."""

from __future__ import annotations

from scripted import QED, Fail, ScriptedBackend, ScriptedEnv

from search import Theorem
from search.minimise import minimise_proof

THEOREM = Theorem(name="t", statement="t")

# The found proof: rw, rw, intro, simp, done. ``rw`` changes nothing the later steps need (rw on A gives
# A', and ``intro`` works on A and A' alike); ``simp`` is needed; after ``intro`` on A, ``done`` closes.
ENV = ScriptedEnv(
    root="A",
    moves={
        "A": {"rw": "A'", "intro": "B", "simp": Fail()},
        "A'": {"rw": "A''", "intro": "B"},
        "A''": {"intro": "B"},
        "B": {"simp": "C", "done": Fail("not yet")},
        "C": {"done": QED, "simp": "C"},
    },
)


def test_detours_are_dropped_and_the_states_are_those_of_the_short_proof() -> None:
    session = ScriptedBackend(ENV).open(THEOREM)
    found = ["rw", "rw", "intro", "simp", "done"]
    short = minimise_proof(session, found)
    assert short is not None
    assert short.tactics == ("intro", "simp", "done")
    assert short.kept == (2, 3, 4)
    assert short.states == ("A", "B", "C")
    assert ENV.replays_to_qed(short.tactics)


def test_a_proof_that_closes_early_is_cut_and_a_needed_step_stays() -> None:
    session = ScriptedBackend(ENV).open(THEOREM)
    # ``simp`` twice: the second is a no-op loop; ``done`` closes, and what follows it is cut.
    short = minimise_proof(session, ["intro", "simp", "simp", "done", "rw"])
    assert short is not None and short.tactics == ("intro", "simp", "done")
    assert minimise_proof(session, ["intro", "simp", "done"]).tactics == ("intro", "simp", "done")


def test_a_proof_that_does_not_replay_gives_none_and_the_budget_bounds_the_work() -> None:
    session = ScriptedBackend(ENV).open(THEOREM)
    assert minimise_proof(session, ["intro", "done"]) is None
    assert minimise_proof(session, ["rw", "rw"]) is None  # never closes
    ENV.calls.clear()
    capped = minimise_proof(session, ["rw", "rw", "intro", "simp", "done"], max_tactic_calls=4)
    assert capped is not None and capped.tactics == ("rw", "intro", "simp", "done")
    assert len(ENV.calls) == 5 + 4 and ENV.replays_to_qed(capped.tactics)  # the replay, then 4 for deletions
    ENV.calls.clear()
    unbudgeted = minimise_proof(session, ["rw", "rw", "intro", "simp", "done"], max_tactic_calls=0)
    assert unbudgeted is not None and len(unbudgeted.tactics) == 5  # a budget below the proof: kept whole


def test_a_step_that_a_later_deletion_makes_removable_goes_too() -> None:
    """Passes repeat until one deletes nothing: dropping ``p`` lets ``f`` close from the start, so ``q``
    goes as well (one front-to-back pass would keep it)."""
    env = ScriptedEnv("S0", {"S0": {"q": "S1", "f": QED}, "S1": {"p": "S2", "f": QED}, "S2": {"f": QED}})
    short = minimise_proof(ScriptedBackend(env).open(THEOREM), ["q", "p", "f"])
    assert short is not None and short.tactics == ("f",) and short.kept == (2,) and short.states == ("S0",)
