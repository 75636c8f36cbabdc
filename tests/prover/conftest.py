"""Session fixtures for the prover tests: a tiny tokenizer and Qwen2 model, in memory and saved to disk.

The builders live in ``tiny_models.py`` beside this file. It is loaded by file path under a unique module
name, so it does not depend on pytest's import mode or on ``tests/`` being a package.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from module_loading import load_module


def _load_tiny_models() -> ModuleType:
    return load_module("_prover_tests_tiny_models", Path(__file__).with_name("tiny_models.py"))


@pytest.fixture(scope="session")
def tiny_models() -> ModuleType:
    """The ``tiny_models`` helper module (builders and the tiny training set)."""
    return _load_tiny_models()


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_models: ModuleType):
    """Byte-level BPE with EOS ``<|endoftext|>`` and PAD ``<|pad|>``; shared, do not mutate."""
    return tiny_models.tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tiny_models: ModuleType, tiny_tokenizer):
    """A 2-layer Qwen2 trained briefly to write ``{tactic}<eos>`` after ``{state}:::``; do not mutate."""
    return tiny_models.tiny_qwen2(tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_models: ModuleType, tiny_model, tiny_tokenizer, tmp_path_factory) -> Path:
    """``tiny_model`` and ``tiny_tokenizer`` written with ``save_pretrained``."""
    return tiny_models.save_tiny(tmp_path_factory.mktemp("tiny_qwen2"), tiny_model, tiny_tokenizer)


@pytest.fixture(scope="session")
def qwen_vocab():
    """``(transformers tokenizer, tiktoken encoding)`` with Qwen2.5's real vocabulary (``qwen_vocab.py``)."""
    module = load_module("_prover_tests_qwen_vocab", Path(__file__).with_name("qwen_vocab.py"))
    return module.qwen_tokenizers()
