"""Randomly initialised models for the benchmarks, built directly on the target device (no download)."""

from __future__ import annotations

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def random_qwen2(config: Qwen2Config, device: torch.device, dtype: torch.dtype, *,
                 train: bool = False, seed: int | None = None) -> Qwen2ForCausalLM:
    """Random weights created on ``device`` in ``dtype`` (no slow CPU init, no copy); eval mode unless
    ``train``."""
    if seed is not None:
        torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.train() if train else model.eval()
