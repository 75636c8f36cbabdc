"""Session-wide test settings: markers that skip where their requirement is missing."""

from __future__ import annotations

import os

import pytest


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lean_project = os.environ.get("PROVER_LEAN_PROJECT")
    skip_lean = pytest.mark.skip(reason="needs a built lean_project: set PROVER_LEAN_PROJECT")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    has_gpu = None
    for item in items:
        if "lean" in item.keywords and not lean_project:
            item.add_marker(skip_lean)
        if "gpu" in item.keywords:
            if has_gpu is None:
                has_gpu = _cuda_available()
            if not has_gpu:
                item.add_marker(skip_gpu)
