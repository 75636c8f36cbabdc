"""Helpers of the expert-iteration tests: a scripted benchmark the tiny model can prove, thread control.

The scripted theorems' states are the tiny model's training states (``tiny_models.TRAINING_PAIRS``), and the
tactics that work there are among those it writes, so the tiny model really proves some of them; every other
tactic fails (an "unknown tactic" error), which gives rejected siblings for preference pairs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from scripted import QED, Fail, MultiScriptedBackend, ScriptedEnv

from prover.expert import TrainConfig


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads (tiny models are slower with more threads on a busy
    2-core machine: OpenMP threads spin waiting for each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


ADD = "x : ℕ\n⊢ x + 0 = x"
FORALL = "⊢ ∀ (n : ℕ), n ≤ n + 1"
INTRO = "n : ℕ\n⊢ n ≤ n + 1"
LE = "a b : ℕ\nh : a ≤ b\n⊢ a ≤ b + 1"
AND = "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q"
IMP = "p q : Prop\n⊢ p → q → p"
REAL = "x y : ℝ\nh : x < y\n⊢ x ≤ y"

# what the training tests train on: a few (state, tactic) pairs, four steps, a checkpoint every two
TRAIN_PAIRS = [{"state": ADD, "tactic": "simp"}, {"state": FORALL, "tactic": "intro n"},
               {"state": REAL, "tactic": "exact le_of_lt h"}]
TRAIN_CONFIG = TrainConfig(max_steps=4, batch_size=3, learning_rate=3e-3, warmup=0, save_steps=2,
                           logging_steps=1, gradient_checkpointing=False, device="cpu")


class Interrupted(Exception):
    """Raised by a test's callback to stop a training midway, as a kill would."""


def scripted_envs() -> dict[str, ScriptedEnv]:
    """Theorem -> environment. At each state two of the three tactics the tiny model favours work and the
    third fails; any other tactic fails as unknown. ``add`` and ``add_again`` share their only state (a
    duplicate pair); ``forall`` needs two steps; ``conj`` cannot be proved."""
    no = Fail("tactic failed")
    return {
        "add": ScriptedEnv(root=ADD, moves={ADD: {"simp": QED, "rfl": QED, "omega": no}}),
        "add_again": ScriptedEnv(root=ADD, moves={ADD: {"simp": QED, "rfl": QED, "omega": no}}),
        "forall": ScriptedEnv(root=FORALL, moves={FORALL: {"intro n": INTRO, "omega": no, "simp": no},
                                                  INTRO: {"omega": QED, "simp": QED}}),
        "le": ScriptedEnv(root=LE, moves={LE: {"omega": QED, "linarith": QED,
                                               "exact Nat.le_succ_of_le h": Fail("type mismatch")}}),
        "conj": ScriptedEnv(root=AND, moves={AND: {"constructor": no, "tauto": no, "exact ⟨hp, hq⟩": no}}),
        "imp": ScriptedEnv(root=IMP, moves={IMP: {"exact fun hp _ => hp": QED, "tauto": QED,
                                                  "intro hp _": no}}),
        "real": ScriptedEnv(root=REAL, moves={REAL: {"linarith": QED, "exact le_of_lt h": QED,
                                                     "positivity": no}}),
    }


def scripted_backend_factory() -> functools.partial[MultiScriptedBackend]:
    """Picklable (``scripted`` is importable in Ray workers): a fresh backend per worker."""
    return functools.partial(MultiScriptedBackend, scripted_envs())
