"""Settings of expert iteration with the retrieval policy as the learned model
(``prover.expert.retrieval_loop``): which benchmark rows are held out, which standard-library lemmas join
the data search and the evaluation, and the corpus-growth rule. Torch-free, so the CLI builds its options
from it."""

from __future__ import annotations

from dataclasses import dataclass

from search.validation import Validated, setting


@dataclass(frozen=True, kw_only=True)
class RetrievalLoopConfig(Validated):
    """Validated settings of the retrieval expert-iteration loop."""

    config_name = "retrieval expert-iteration configuration"

    heldout_percent: int = setting(
        25, min=0, max=90,
        help="percent of the benchmark's rows held out: never searched for data, evaluated every round "
             "(the rule: int(sha256(name)[:8], 16) mod 100 < PERCENT; 0: none)")
    data_limit: int | None = setting(
        None, min=1, help="search at most the first N data rows (file order) each round")
    heldout_limit: int | None = setting(
        None, min=1, help="evaluate at most the first N held-out rows (file order) each round")
    stdlib_root: str | None = setting(
        None, nonblank=True,
        help="the theories/ folder the corpus was traced from (default: that of `coqc -where`)")
    stdlib_train_files: int = setting(
        0, min=0, help="standard-library train files whose lemmas join each round's data search (0: none); "
                       "those lemmas are searched without these files' traced proofs in the index")
    stdlib_train_per_file: int = setting(2, min=1, help="lemmas per standard-library train file")
    stdlib_test_files: int = setting(
        0, min=0, help="standard-library test files whose lemmas are evaluated every round (0: none)")
    stdlib_test_per_file: int = setting(2, min=1, help="lemmas per standard-library test file")
    drop_trivial: bool = setting(
        True, help="a one-step proof whose tactic the tactic list proposes at the root is counted but "
                   "not added to the corpus")
