"""Fixtures of the retrieval expert-iteration tests: a tiny traced corpus (one train file of the fixed
stdlib split) and a benchmark whose held-out theorem only a sibling's round-0 proof brings within reach.

The construction, honestly: ``rev_rev_map`` (held out) needs ``apply rev_involutive`` after ``intros``; the
tactic list never proposes it (it applies no library lemma), and in the traced corpus it is recorded only
at ``rev (rev l) = l``, whose similarity to the held-out state (0.63) is below the retrieval's cut
(``MIN_SIMILARITY``). The data row ``rev_rev_app`` is nearer to that corpus state (0.77): in round 0 the
mixture proves it with ``intros`` (the list) then ``apply rev_involutive`` (retrieval), and those two
steps join corpus 1, where the held-out state's nearest state (0.86) is the sibling's. ``add_two_two`` is
a one-step proof the tactic list finds (``lia``): counted, never added.
"""

from __future__ import annotations

import json
from pathlib import Path

from source_files import write_source

from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset

CORPUS_UNIT = "Dev/F0.v"  # train in the fixed split
CORPUS = """Require Import List.
Lemma rev_rev_nat (l : list nat) : rev (rev l) = l.
Proof. apply rev_involutive. Qed.
Lemma app_nil_nat (l : list nat) : l ++ nil = l.
Proof. apply app_nil_r. Qed.
Lemma map_id_nat (l : list nat) : map (fun n : nat => n) l = l.
Proof. apply map_id. Qed.
Lemma app_length_nat (l m : list nat) : length (l ++ m) = length l + length m.
Proof. apply app_length. Qed.
Lemma add_zero (n : nat) : n + 0 = n.
Proof. induction n; simpl; auto. Qed.
"""
HEADER = "Require Import List."
SIBLING, HELD_OUT, TRIVIAL = "rev_rev_app", "rev_rev_map", "add_two_two"  # data, held out, data at 25%
STATEMENTS = {
    SIBLING: f"Theorem {SIBLING} : forall xs ys : list nat, rev (rev (xs ++ ys)) = xs ++ ys.",
    HELD_OUT: f"Theorem {HELD_OUT} : forall xs ys : list nat, "
              "rev (rev (map S (xs ++ ys))) = map S (xs ++ ys).",
    TRIVIAL: f"Theorem {TRIVIAL} : 2 + 2 = 4.",
}
MIN_SIMILARITY = 0.7
KEY_TACTIC = "apply rev_involutive"


def trace_into(dataset: Path, root: Path, units: dict[str, str]) -> Dataset:
    """Write each unit's text under ``root`` and trace it into ``dataset`` (every proof must trace)."""
    data = Dataset(dataset)
    for unit, text in units.items():
        job = TraceJob(str(write_source(root, unit, text)), unit, STDLIB_SOURCE, "t")
        record, rows = trace_coq_file(job, CoqTraceConfig())
        assert all(p.status == "traced" for p in record.proofs), record.proofs
        data.add_unit(record, rows)
    return data


def write_bench(path: Path, names: tuple[str, ...] = (SIBLING, HELD_OUT, TRIVIAL)) -> Path:
    rows = [{"name": name, "split": "valid", "header": HEADER, "statement": STATEMENTS[name]}
            for name in names]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def train_argv(bench: Path, corpus: Path, out: Path, *more: str) -> list[str]:
    """``prover train`` with the retrieval policy at the tests' small fixed budget."""
    return ["train", str(bench), "--backend", "coq", "--policy", "retrieval",
            "--retrieval-corpus", str(corpus),
            "--retrieval-min-similarity", str(MIN_SIMILARITY), "--retrieval-tactic-list-weight", "0.5",
            "--out", str(out), "--workers", "2", "--worker-cpus", "0.5", "--max-expansions", "8",
            "--time-limit", "60", "--tactic-timeout", "5", "--no-graph-pages", *more]
