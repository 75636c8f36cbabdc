"""DPO rows are tokenised as the step prover meets them, also with a vocabulary that merges across ``:::``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from expert_fixtures import torch_threads

from prover.expert import TrainConfig, train_dpo
from prover.expert.training import build_dpo_trainer
from prover.policies.hf_policy import HFPolicy
from prover.policies.hf_policy_config import HFPolicyConfig

STATE = "1 goal\n  n : nat\n  ============================\n  n < S n"
PREFERENCES = [{"state": STATE, "chosen": "(apply le_n)", "rejected": "auto"},
               {"state": STATE, "chosen": "lia", "rejected": "(intros; auto)"}]
CONFIG = TrainConfig(max_steps=1, batch_size=2, dpo_learning_rate=1e-3, warmup=0, save_steps=10,
                     gradient_checkpointing=False, device="cpu")


@pytest.fixture(scope="module")
def merging_model_dir(tiny_models: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model whose tokenizer, like Qwen's, merges ``:::`` with what follows it (``:::(``): trained
    on whole ``prompt + tactic`` lines, as a general pretrained BPE is."""
    from prover.expert.small_model import small_qwen2, train_tokenizer

    texts = [f"{STATE}:::(apply le_n)"] * 50 + tiny_models.training_texts() * 4
    with torch_threads(1):
        tokenizer = train_tokenizer(texts, vocab_size=400)
        model = small_qwen2(tokenizer, tiny_models.TINY_SHAPE, seed=0)
    return tiny_models.save_tiny(tmp_path_factory.mktemp("merging_model"), model, tokenizer)


def test_dpo_rows_have_the_inference_prompt_and_one_eos_per_tactic(merging_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    with torch_threads(1):
        policy = HFPolicy(HFPolicyConfig(model=str(merging_model_dir), device="cpu", seed=0))
        trainer = build_dpo_trainer(PREFERENCES, init_model=str(merging_model_dir), work_dir=tmp_path,
                                    config=CONFIG)
    tokenizer = policy.tokenizer
    prompt = policy._encode_prompts([STATE])[0]
    assert prompt is not None
    # the hazard is real with this vocabulary: tokenised as one string, ":::" leaves the prompt's tokens
    joined = tokenizer(f"{STATE}:::(apply le_n)")["input_ids"]
    assert joined[: len(prompt)] != prompt
    eos = tokenizer.eos_token_id
    rows = list(trainer.train_dataset)
    assert len(rows) == len(PREFERENCES)
    for row, preference in zip(rows, PREFERENCES, strict=True):
        assert row["prompt_ids"] == prompt  # exactly what the policy samples after
        for side in ("chosen", "rejected"):
            ids = row[f"{side}_ids"]
            assert ids == [*tokenizer(preference[side], add_special_tokens=False)["input_ids"], eos]
            assert ids.count(eos) == 1 and ids[-1] == eos
    batch = trainer.data_collator(rows)  # chosen rows first, then rejected: the completion is the tactic
    for index, row in enumerate(rows * 2):
        side = "chosen" if index < len(rows) else "rejected"
        mask = batch["completion_mask"][index].tolist()
        ids = batch["input_ids"][index].tolist()
        assert ids[: len(prompt)] == prompt and mask[: len(prompt)] == [0] * len(prompt)
        assert [i for i, m in zip(ids, mask, strict=True) if m] == row[f"{side}_ids"]


def test_dpo_trains_a_step_on_the_pretokenised_rows(merging_model_dir: Path, tmp_path: Path) -> None:
    with torch_threads(1):
        result = train_dpo(PREFERENCES, init_model=str(merging_model_dir), work_dir=tmp_path / "work",
                           final_dir=tmp_path / "model", config=CONFIG)
    assert result.kind == "dpo" and result.steps == 1 and result.train_loss is not None
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_a_prompt_that_fills_max_length_is_dropped_with_a_warning(merging_model_dir: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    long_state = STATE + "\n" + " ".join(f"h{i} : n < {i}" for i in range(60))
    preferences = [*PREFERENCES, {"state": long_state, "chosen": "lia", "rejected": "auto"}]
    config = TrainConfig(max_steps=1, batch_size=2, max_length=64, device="cpu", gradient_checkpointing=False)
    with torch_threads(1), caplog.at_level("WARNING"):
        trainer = build_dpo_trainer(preferences, init_model=str(merging_model_dir), work_dir=tmp_path,
                                    config=config)
    assert len(trainer.train_dataset) == len(PREFERENCES)
    assert "1 of 3 preference rows dropped" in caplog.text
