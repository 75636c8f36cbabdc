"""Session fixtures for the prover tests: a tiny tokenizer and Qwen2 model, in memory and saved to disk.

The builders live in ``tiny_models.py`` beside this file. It is loaded by file path under a unique module
name, so it does not depend on pytest's import mode or on ``tests/`` being a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_tiny_models() -> ModuleType:
    name = "_prover_tests_tiny_models"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("tiny_models.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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
