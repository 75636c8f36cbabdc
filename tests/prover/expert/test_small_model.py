"""The small model built from the training pairs alone: tokenizer, shape, saved folder the loaders take."""

from __future__ import annotations

from pathlib import Path

import pytest
from expert_fixtures import torch_threads

from planner.model_loading import load_causal_lm
from prover.expert import SmallModelConfig, build_small_model, encode_pair, train_tokenizer
from prover.expert.small_model import DESCRIPTION_FILE, pair_texts
from search.validation import ConfigError

COQ_PAIRS = [
    ("1 goal\n  n : nat\n  ============================\n  n + 0 = n", "induction n; simpl; auto"),
    ("1 goal\n  A : Type\n  l : list A\n  ============================\n  l ++ [] = l", "apply app_nil_r"),
    ("x : ℕ\n⊢ x + 0 = x", "simp"),
]
TINY = SmallModelConfig(vocab_size=300, hidden_size=32, intermediate_size=64, layers=1, heads=2, kv_heads=1,
                        context=128)


def test_the_saved_folder_loads_and_tokenises_as_the_tokenizer_it_was_built_from(tmp_path: Path) -> None:
    with torch_threads(1):
        folder = build_small_model(COQ_PAIRS, tmp_path / "small", TINY, seed=3)
        model, tokenizer = load_causal_lm(str(folder), device="cpu", require_eos=True)
    built = train_tokenizer(pair_texts(COQ_PAIRS), vocab_size=TINY.vocab_size)
    for state, tactic in COQ_PAIRS:  # the reload tokenises exactly as the built tokenizer (and round-trips)
        assert encode_pair(tokenizer, state, tactic) == encode_pair(built, state, tactic)
        assert tokenizer.decode(tokenizer(state)["input_ids"]) == state
    assert len(tokenizer) <= TINY.vocab_size and tokenizer.eos_token == "<|endoftext|>"
    assert tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.vocab_size) == (
        1, 32, len(tokenizer))
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert (folder / DESCRIPTION_FILE).is_file() and not (tmp_path / "small.partial").exists()


def test_the_same_seed_gives_the_same_weights_and_another_seed_others(tmp_path: Path) -> None:
    import torch

    with torch_threads(1):
        a, b, c = (load_causal_lm(str(build_small_model(COQ_PAIRS, tmp_path / name, TINY, seed=seed)),
                                  device="cpu")[0] for name, seed in (("a", 1), ("b", 1), ("c", 2)))
    weights = [dict(m.named_parameters()) for m in (a, b, c)]
    assert all(torch.equal(weights[0][n], weights[1][n]) for n in weights[0])
    assert not all(torch.equal(weights[0][n], weights[2][n]) for n in weights[0])


def test_bad_shapes_and_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hidden_size / heads must be an even whole number") as error:
        SmallModelConfig(hidden_size=30, heads=4)
    assert error.value.keys == ("hidden_size",)
    with pytest.raises(ConfigError, match="kv_heads must divide heads"):
        SmallModelConfig(heads=4, kv_heads=3)
    with pytest.raises(ConfigError, match="vocab_size"):
        SmallModelConfig(vocab_size=100)
    with pytest.raises(ValueError, match="no pairs"):
        build_small_model([], tmp_path / "x", TINY)
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="taken: exists already"):
        build_small_model(COQ_PAIRS, tmp_path / "taken", TINY)
    with pytest.raises(ValueError, match="vocab_size must be at least 258"):
        train_tokenizer(["a"], vocab_size=257)
