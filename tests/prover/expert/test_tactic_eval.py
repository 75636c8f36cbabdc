"""Held-out tactic evaluation: perplexity as the model's own loss gives it, and top-1/top-k hits of beam
search, on a small model before and after it memorised a few pairs through the TRL path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from planner.model_loading import load_causal_lm
from prover.expert import SmallModelConfig, TrainConfig, build_small_model, evaluate_tactics, train_sft
from prover.expert.tactic_eval import normalise_tactic

PAIRS = [
    ("1 goal\n  n : nat\n  ============================\n  n + 0 = n", "induction n; simpl; auto"),
    ("1 goal\n  l : list nat\n  ============================\n  l ++ [] = l", "apply app_nil_r"),
    ("1 goal\n  P : Prop\n  H : P\n  ============================\n  P", "exact H"),
]
SHAPE = SmallModelConfig(vocab_size=320, hidden_size=64, intermediate_size=128, layers=2, heads=4, kv_heads=2,
                         context=256)
MEMORISE = TrainConfig(max_steps=60, batch_size=3, learning_rate=1e-2, warmup=0, lr_scheduler="constant",
                       save_steps=1000, logging_steps=20, gradient_checkpointing=False, device="cpu")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh small model built from ``PAIRS`` and the same model after memorising them (TRL SFT)."""
    root = tmp_path_factory.mktemp("tactic_eval")
    with torch_threads(1):
        base = build_small_model(PAIRS, root / "base", SHAPE, seed=0)
        train_sft([{"state": s, "tactic": t} for s, t in PAIRS], init_model=str(base), work_dir=root / "work",
                  final_dir=root / "trained", config=MEMORISE)
    return base, root / "trained"


def evaluate(model_dir: Path, pairs: list[tuple[str, str]], **options: int):
    with torch_threads(1):
        model, tokenizer = load_causal_lm(str(model_dir), device="cpu", require_eos=True)
        return evaluate_tactics(model, tokenizer, pairs, **options)


def test_a_model_that_memorised_the_pairs_writes_them_first_and_finds_them_likely(models) -> None:
    base, trained = models
    before, after = evaluate(base, PAIRS, k=4), evaluate(trained, PAIRS, k=4)
    assert (after.hits_1, after.hits_k, after.top1, after.topk) == (3, 3, 1.0, 1.0)
    assert before.hits_k < 3  # a random model does not write these tactics
    assert after.perplexity < 1.5 < before.perplexity / 10
    assert before.pairs == before.evaluated == 3 and before.too_long == 0 and before.k == 4
    assert before.tokens == after.tokens


def test_a_reference_the_model_does_not_write_first_is_no_top1_hit(models) -> None:
    _, trained = models
    swapped = [(PAIRS[0][0], PAIRS[2][1]), (PAIRS[1][0], "  apply   app_nil_r ")]  # whitespace is not content
    result = evaluate(trained, swapped, k=2)
    assert result.hits_1 == 1 and result.top1 == 0.5
    assert normalise_tactic(" apply\n  app_nil_r ") == "apply app_nil_r"


def test_perplexity_is_exp_of_the_models_own_token_loss_over_all_pairs(models) -> None:
    import torch

    base, _ = models
    with torch_threads(1):
        model, tokenizer = load_causal_lm(str(base), device="cpu", require_eos=True)
        total, count = 0.0, 0
        for state, tactic in PAIRS:  # one pair at a time, no padding: the model's own summed loss
            prompt = tokenizer(f"{state}:::")["input_ids"]
            completion = [*tokenizer(tactic, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
            ids = torch.tensor([prompt + completion])
            labels = ids.clone()
            labels[0, : len(prompt)] = -100
            with torch.inference_mode():
                total += float(model(input_ids=ids, labels=labels).loss) * len(completion)
            count += len(completion)
        result = evaluate_tactics(model, tokenizer, PAIRS, k=1)
    assert result.tokens == count
    assert result.nll == pytest.approx(total / count, rel=1e-4)
    assert result.perplexity == pytest.approx(math.exp(total / count), rel=1e-4)


def test_long_prompts_are_counted_not_evaluated(models) -> None:
    _, trained = models
    long_state = "1 goal\n" + "  H : True\n" * 300 + "  ============================\n  True"
    result = evaluate(trained, [*PAIRS, (long_state, "exact I")], k=2, max_prompt_tokens=200)
    assert (result.pairs, result.evaluated, result.too_long, result.hits_1) == (4, 3, 1, 3)
    with pytest.raises(ValueError, match="none of the 1 pairs has a prompt of at most 200 tokens"):
        evaluate(trained, [(long_state, "exact I")], max_prompt_tokens=200)


def test_bad_inputs_are_refused_naming_the_problem(models) -> None:
    base, _ = models
    model, tokenizer = load_causal_lm(str(base), device="cpu")
    for pairs, message in (([], "no pairs to evaluate"), ([PAIRS[0], ("s", "  ")], "pair 1: .* blank"),
                           ([("s",)], "pair 0: expected \\(state, tactic\\) strings"),
                           ([("s", None)], "pair 0: expected")):
        with pytest.raises(ValueError, match=message):
            evaluate_tactics(model, tokenizer, pairs)
    with pytest.raises(ValueError, match="k must be a whole number >= 1, got 0"):
        evaluate_tactics(model, tokenizer, PAIRS, k=0)


@pytest.mark.gpu
def test_on_cuda_the_memorised_model_scores_as_on_the_cpu(models) -> None:
    _, trained = models
    cpu = evaluate(trained, PAIRS, k=4)
    model, tokenizer = load_causal_lm(str(trained), device="cuda", dtype="float32", require_eos=True)
    cuda = evaluate_tactics(model, tokenizer, PAIRS, k=4)
    assert (cuda.hits_1, cuda.hits_k) == (cpu.hits_1, cpu.hits_k)
    assert cuda.nll == pytest.approx(cpu.nll, rel=1e-3)
