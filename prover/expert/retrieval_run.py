"""What a retrieval expert-iteration run works on besides the expert settings (``RetrievalRun``): the
benchmark, the run's spec, the sweeps' settings and the loop's own; and the retrieval settings every round
starts from, refusing those the loop cannot honour."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from prover.expert.loop_config import RetrievalLoopConfig
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import RunSpec
from prover.sweep import SweepConfig
from prover.theorem_input import InputError


@dataclass(frozen=True, kw_only=True)
class RetrievalRun:
    """What the loop works on besides the expert settings: the benchmark, the run's spec (its policy the
    retrieval policy: corpus and settings of every round, its search the fixed budget), the sweeps'
    settings (``split`` and ``limit`` select the benchmark's rows before they are split; ``out`` is each
    sweep's folder) and the loop's own settings."""

    benchmark: str
    spec: RunSpec
    sweep: SweepConfig
    loop: RetrievalLoopConfig = field(default_factory=RetrievalLoopConfig)

    @property
    def retrieval(self) -> RetrievalConfig:
        """The policy's settings as every round uses them: the corpus's train files (no held-out stdlib
        file in any index) and, from round 1, the pairs the rounds added. Raises ``InputError`` for a
        setting the loop cannot honour, rather than ignoring it."""
        given = self.spec.policy.retrieval
        if given is None:
            raise InputError("expert iteration with the retrieval policy needs --policy retrieval "
                             "--corpus DIR")
        if given.corpus_split not in ("all", "train"):
            raise InputError(f"--retrieval-corpus-split {given.corpus_split}: expert iteration indexes the "
                             "corpus's train files (the held-out stdlib files stay out), so only train "
                             "(or the default, all) applies")
        if given.extra:
            raise InputError("--retrieval-extra: expert iteration's corpus is the traced train files, then "
                             "each round adds the pairs of the rounds before it (round-NN/growth); trace "
                             "more files into the corpus instead")
        return replace(given, corpus_split="train", extra=())
