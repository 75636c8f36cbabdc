"""TRL training of the step prover: loss masked on the prompt, checkpoints, resume, DPO."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from expert_fixtures import TRAIN_CONFIG, TRAIN_PAIRS, Interrupted, torch_threads

from prover.expert import TrainConfig, build_sft_trainer, load_scorer, log_perplexities, train_dpo, train_sft
from prover.expert.training import finished_result

PAIRS, CONFIG = TRAIN_PAIRS, TRAIN_CONFIG


def test_collated_labels_mask_the_prompt_and_keep_tactic_and_eos(base_model_dir: Path,
                                                                 tmp_path: Path) -> None:
    with torch_threads(1):
        trainer = build_sft_trainer(PAIRS, init_model=str(base_model_dir), work_dir=tmp_path, config=CONFIG)
    tokenizer = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(PAIRS))])
    for row, pair in enumerate(PAIRS):
        prompt = tokenizer(f"{pair['state']}:::")["input_ids"]  # exactly HFPolicy's prompt
        tactic = tokenizer(pair["tactic"], add_special_tokens=False)["input_ids"]  # as the prover samples it
        length = int(batch["attention_mask"][row].sum())
        ids, labels = batch["input_ids"][row].tolist(), batch["labels"][row].tolist()
        assert ids[:length] == [*prompt, *tactic, tokenizer.eos_token_id]
        assert labels[: len(prompt)] == [-100] * len(prompt)  # no loss on the prompt
        assert labels[len(prompt) : length] == [*tactic, tokenizer.eos_token_id]  # the tactic and its EOS
        assert labels[length:] == [-100] * (len(labels) - length)  # nor on padding
    assert trainer.args.bf16 is False  # float32 on CPU


def test_sft_trains_checkpoints_and_resumes_after_an_interruption(base_model_dir: Path,
                                                                  tmp_path: Path) -> None:
    from transformers import TrainerCallback

    class StopAfterTwoSteps(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # checkpoint-2 is on disk: crash now
            if state.global_step == 2:
                raise Interrupted

    work, final = tmp_path / "work", tmp_path / "model"
    with torch_threads(1):
        with pytest.raises(Interrupted):
            train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final, config=CONFIG,
                      callbacks=[StopAfterTwoSteps()])
        assert (work / "checkpoint-2").is_dir() and not final.exists()
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final,
                           config=CONFIG)
        assert result.resumed_from == str(work / "checkpoint-2")
        assert result.steps == 4 and result.examples == 3 and result.train_loss > 0
        assert json.loads((final / "train_result.json").read_text())["steps"] == 4
        assert finished_result(final) == result  # a rerun returns at once
        rerun = train_sft(PAIRS, init_model="/nowhere", work_dir=work, final_dir=final, config=CONFIG)
        assert rerun == result
        before = log_perplexities(*load_scorer(str(base_model_dir), "cpu"),
                                  [(p["state"], p["tactic"]) for p in PAIRS])
        after = log_perplexities(*load_scorer(str(final), "cpu"), [(p["state"], p["tactic"]) for p in PAIRS])
    assert sum(after) < sum(before)  # the trained model finds its training tactics likelier


def test_dpo_on_preference_pairs(base_model_dir: Path, tmp_path: Path) -> None:
    preferences = [{"state": p["state"], "chosen": p["tactic"], "rejected": "omega"} for p in PAIRS]
    config = TrainConfig(max_steps=2, batch_size=3, dpo_learning_rate=1e-3, warmup=0, save_steps=10,
                         gradient_checkpointing=False, device="cpu")
    with torch_threads(1):
        result = train_dpo(preferences, init_model=str(base_model_dir), work_dir=tmp_path / "work",
                           final_dir=tmp_path / "model", config=config)
    assert result.kind == "dpo" and result.steps == 2 and result.train_loss is not None
    assert (tmp_path / "model" / "config.json").exists() and (tmp_path / "model" / "tokenizer.json").exists()
    before, after = weights(base_model_dir), weights(tmp_path / "model")
    assert before.keys() == after.keys()
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed, "DPO saved the base model's weights unchanged"
    with torch_threads(1):  # and it moved them the right way: chosen tactics likelier against rejected ones
        chosen = [(p["state"], p["chosen"]) for p in preferences]
        rejected = [(p["state"], p["rejected"]) for p in preferences]
        margins = []
        for model_dir in (base_model_dir, tmp_path / "model"):
            scorer = load_scorer(str(model_dir), "cpu")
            margins.append(sum(log_perplexities(*scorer, rejected)) - sum(log_perplexities(*scorer, chosen)))
    assert margins[1] > margins[0]


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    files = sorted(model_dir.glob("*.safetensors"))
    assert files, f"no safetensors weights in {model_dir}"
    return {name: tensor for file in files for name, tensor in load_file(str(file)).items()}


def test_no_data_and_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no pairs"):
        train_sft([], init_model="m", work_dir=tmp_path, final_dir=tmp_path / "m", config=CONFIG)
    with pytest.raises(ValueError, match="invalid training configuration"):
        TrainConfig(learning_rate=0, batch_size=0, weight_dtype="int8")


def test_a_rerun_after_a_crash_while_publishing_records_the_checkpoint_s_loss_not_zero(
        base_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last checkpoint (step max_steps) was saved, then publishing the model failed: the rerun resumes at
    the end and trains no step; its loss is what that checkpoint logged, not transformers' 0.0."""
    import prover.expert.training as training
    from prover.expert.checkpoints import logged_loss

    publish = training._publish

    def crash(*args, **kwargs):
        raise Interrupted

    monkeypatch.setattr(training, "_publish", crash)
    work, final = tmp_path / "work", tmp_path / "model"
    with torch_threads(1):
        with pytest.raises(Interrupted):
            train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final, config=CONFIG)
        assert (work / "checkpoint-4").is_dir() and not final.exists()
        monkeypatch.setattr(training, "_publish", publish)
        result = train_sft(PAIRS, init_model=str(base_model_dir), work_dir=work, final_dir=final,
                           config=CONFIG)
    assert result.resumed_from == str(work / "checkpoint-4") and result.steps == 4
    state = json.loads((work / "checkpoint-4" / "trainer_state.json").read_text())
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert len(losses) == 4  # one logged loss per step (logging_steps=1)
    assert result.train_loss == logged_loss(work / "checkpoint-4") == pytest.approx(sum(losses) / 4)
    assert result.train_loss > 0
    assert json.loads((final / "train_result.json").read_text())["train_loss"] == result.train_loss


def test_a_checkpoint_that_logged_no_loss_has_none(tmp_path: Path) -> None:
    from prover.expert.checkpoints import logged_loss

    (tmp_path / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": []}))
    assert logged_loss(tmp_path) is None
    history = [{"step": 2, "loss": 1.0}, {"step": 3, "loss": 4.0}, {"step": 3, "train_loss": 9.0}]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"global_step": 3, "log_history": history}))
    assert logged_loss(tmp_path) == pytest.approx((2 * 1.0 + 4.0) / 3)  # each log weighted by its steps
