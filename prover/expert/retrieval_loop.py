"""Expert iteration with the retrieval policy as the learned model: the corpus grows round by round.

Corpus r is the traced corpus's train files (``RetrievalConfig.corpus_split = "train"``) plus the pairs
rounds 0 .. r-1 added (``RetrievalConfig.extra``). Round r (0-based), with corpus r and the run's one fixed
search budget (the spec's ``SearchConfig``):

1. evaluates: the benchmark's held-out rows (a sweep; ``prover.expert.heldout``) and the fixed sample of
   standard-library test lemmas (``prover.expert.stdlib_rounds``). No round searches these for data;
2. unless it is the last round: searches the benchmark's data rows (a sweep; with ``minimise_proofs`` its
   proofs are then made 1-minimal, ``prover.expert.minimised_records``) and the sample of stdlib train
   lemmas (searched with corpus r less the rows of every sampled train file, so that no lemma replays its
   own file's human proof); collects the kernel-checked proofs' pairs and preferences (``data/``, the SFT
   and DPO files of ``prover.expert.trajectories``); and grows the corpus (``growth/added.jsonl``, by the
   rule of ``prover.expert.corpus_growth``);
3. with ``RetrievalLoopConfig.tactic_model`` only (off by default): trains a small transformer on the data
   corpus r holds and evaluates it on held-out pairs (``prover.expert.tactic_rounds``), last round too.

So ``rounds = N`` evaluates corpora 0 .. N and grows N times. Run folder (``ExpertConfig.out``)::

    run.json                          what the run is: benchmark, parts, samples, corpus, budget, rules,
                                      the sweeps' attempts, shared cache and driver sessions
    benchmark/data.jsonl, heldout.jsonl   the benchmark's two parts
    round-00/heldout/  round-00/search/   sweeps (held-out rows; data rows)
    round-00/stdlib-test/  round-00/stdlib-train/   results.jsonl of the stdlib lemmas
    round-00/minimised/               the data sweep's records, proofs minimised (with minimise_proofs)
    round-00/data/  round-00/growth/      the round's pairs and preferences; what corpus 1 adds
    round-00/<stage>.done.json            each stage's summary, written after its outputs
    tactic-model/  round-00/tactic-model/   the tactic model's plan and models (with --tactic-model)
    report.md, report.json, report.png

Every stage is skipped when its marker exists, so a rerun after a crash redoes only what did not finish,
and a rerun with a larger ``rounds`` continues; a rerun whose run would differ (``run.json``) is refused.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from prover.expert.config import ExpertConfig
from prover.expert.corpus_rounds import CorpusRounds
from prover.expert.retrieval_report import RetrievalReport, write_retrieval_report
from prover.expert.retrieval_run import RetrievalRun


def run_retrieval_iteration(config: ExpertConfig, run: RetrievalRun, *,
                            console: Console | None = None) -> RetrievalReport:
    """Run (or resume) rounds 0 .. ``config.rounds`` (the last evaluates only); write the report.

    Raises ``RunMismatchError`` for a run folder of another run, ``InputError`` for a bad benchmark or a
    corpus with no usable row, ``BackendUnavailableError`` from the searches."""
    from prover.sweep.runner import connect_ray

    rounds = CorpusRounds(config, run, console)
    rounds.plan()
    connect_ray(run.sweep.address)
    for round_number in range(config.rounds + 1):
        rounds.run_round(round_number, last=round_number == config.rounds)
    return write_retrieval_report(rounds.out, Path(run.benchmark).stem)

