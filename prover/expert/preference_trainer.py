"""DPO on preference rows tokenised by the project, exactly as the step prover meets them.

TRL 1.16's ``DPOTrainer._prepare_dataset`` takes text (``prompt``/``chosen``/``rejected``) only: it
tokenises ``prompt + chosen`` as one string and cuts the prompt where that and the prompt alone stop
agreeing. With a vocabulary that merges across the prompt's ``:::`` suffix (Qwen's ``":::" + "(h"``), the
end of the prompt moves into the completion: DPO would train on a context the policy never sees, since
``HFPolicy`` samples after the prompt's own tokens. Rows here are already tokenised (``preference_rows``):
``prompt_ids`` as ``HFPolicy`` encodes the prompt, ``chosen_ids``/``rejected_ids`` the tactic tokenised on
its own plus one EOS, as the SFT labels (``encode_pair``). ``PretokenizedDPOTrainer`` passes them through.

This module imports TRL at import time; ``prover.expert.training`` imports it only when it builds a trainer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from datasets import Dataset, IterableDataset
from transformers import PreTrainedTokenizerBase
from trl import DPOConfig, DPOTrainer

from prover.expert.perplexity import encode_pair

logger = logging.getLogger(__name__)

COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")


def encode_preference(tokenizer: PreTrainedTokenizerBase, state: str, chosen: str, rejected: str,
                      ) -> dict[str, list[int]]:
    """One DPO row: the prompt's ids (as ``HFPolicy`` encodes ``"{state}:::"``) and each tactic's ids
    followed by EOS (as ``encode_pair`` labels a tactic for SFT)."""
    good, bad = encode_pair(tokenizer, state, chosen), encode_pair(tokenizer, state, rejected)
    assert good.ids[: good.prompt_len] == bad.ids[: bad.prompt_len], "the prompt is tokenised on its own"
    return {"prompt_ids": list(good.ids[: good.prompt_len]), "chosen_ids": list(good.ids[good.prompt_len :]),
            "rejected_ids": list(bad.ids[bad.prompt_len :])}


def preference_rows(preferences: Sequence[dict[str, Any]], tokenizer: PreTrainedTokenizerBase) -> Dataset:
    """The pre-tokenised DPO dataset of preference rows (``state``, ``chosen``, ``rejected``)."""
    return Dataset.from_list([encode_preference(tokenizer, p["state"], p["chosen"], p["rejected"])
                              for p in preferences])


class PretokenizedDPOTrainer(DPOTrainer):
    """TRL's ``DPOTrainer`` on rows with ``prompt_ids``, ``chosen_ids`` and ``rejected_ids`` (see the module
    docstring): its text tokenisation is skipped, the rest of its data preparation kept."""

    def _prepare_dataset(self, dataset: Dataset | IterableDataset, processing_class: Any, args: DPOConfig,
                         dataset_name: str) -> Dataset | IterableDataset:
        """The rows as they are, less those whose prompt alone fills ``max_length`` (as TRL drops them under
        ``keep_start`` truncation: no completion token would be left to learn from), with a warning."""
        columns = dataset.column_names or []
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"{dataset_name} dataset lacks the pre-tokenised columns {missing} "
                             "(build it with preference_rows)")
        limit = args.max_length
        if limit is None or args.truncation_mode != "keep_start" or not isinstance(dataset, Dataset):
            return dataset
        kept = dataset.filter(lambda row: len(row["prompt_ids"]) < limit)
        if len(kept) < len(dataset):
            logger.warning("%s: %d of %d preference rows dropped: their prompt alone has max_length=%d "
                           "tokens or more", dataset_name, len(dataset) - len(kept), len(dataset), limit)
        return kept
