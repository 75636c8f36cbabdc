"""Fixtures of the expert-iteration tests: a tiny base model on disk and a scripted benchmark."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from expert_fixtures import scripted_envs, torch_threads
from sweep_fixtures import write_benchmark


@pytest.fixture(scope="session")
def base_model_dir(tiny_models: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2 and its tokenizer, saved as the expert-iteration base model."""
    with torch_threads(1):
        tokenizer = tiny_models.tiny_tokenizer()
        model = tiny_models.tiny_qwen2(tokenizer)
    return tiny_models.save_tiny(tmp_path_factory.mktemp("base_model"), model, tokenizer)


@pytest.fixture
def scripted_bench(tmp_path: Path) -> Path:
    return write_benchmark(tmp_path / "bench.jsonl", dict.fromkeys(scripted_envs(), "provable"))
