"""Settings of the transformers step prover, importable without torch (the CLI builds its options from
them before any model library loads)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from search.policy_identity import settings_digest

PROMPT_SUFFIX = ":::"
DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
SAMPLERS = ("auto", "shared-prefix", "generate")
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class ModelLoadError(Exception):
    """The model or tokenizer named by ``model`` could not be loaded (or placed on ``device``).

    ``model`` is the path or hub id as configured; ``reason`` says what went wrong and how to fix it.
    """

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"cannot load step-prover model {model!r}: {reason}")
        self.model = model
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # survives pickling through Ray
        return (type(self), (self.model, self.reason))


def looks_like_local_path(name: str) -> bool:
    """Hub ids are ``owner/name``; anything absolute, dotted, home-based or nested deeper is a path."""
    if os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1:
        return True
    return os.sep != "/" and os.sep in name


def check_model_reference(name: str) -> None:
    """Fail fast (no network round trip, no model library) for a local path that does not exist: raises
    ``ModelLoadError``. Drivers call it before they start workers or servers that would load ``name``."""
    if looks_like_local_path(name) and not os.path.isdir(os.path.expanduser(name)):
        raise ModelLoadError(name, "no such directory; pass an existing model directory or a hub id")


@dataclass(frozen=True, kw_only=True)
class HFPolicyConfig:
    """Validated settings of the transformers step prover. Defaults follow BFS-Prover-V2's released code."""

    model: str = field(
        default="ByteDance-Seed/BFS-Prover-V2-7B",
        metadata={"help": "local directory or Hugging Face hub id of a causal LM step prover"},
    )
    device: str = field(
        default="auto",
        metadata={"help": "torch device: auto (cuda if available, else cpu), cpu, cuda, cuda:N or mps"},
    )
    dtype: str = field(
        default="auto",
        metadata={"help": "weights: auto (bfloat16 on cuda, float32 elsewhere), float32, bfloat16, float16"},
    )
    temperature: float = field(
        default=1.3, metadata={"help": "sampling temperature (> 0); does not change the reported log-probs"}
    )
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass in (0, 1]; 1 disables it"})
    max_new_tokens: int = field(default=128, metadata={"help": "longest tactic, in tokens (EOS included)"})
    batch_size: int = field(
        default=16,
        metadata={"help": "most states per generate call (each sampled n times, so batch_size * n rows)"},
    )
    max_prompt_tokens: int = field(
        default=2048,
        metadata={"help": "states whose prompt is longer than this many tokens get no candidates (warned)"},
    )
    seed: int | None = field(
        default=None,
        metadata={"help": "seed for reproducible sampling (per policy instance and call sequence)"},
    )
    sampler: str = field(
        default="auto",
        metadata={"help": "shared-prefix: each state is encoded once for its n samples, which share its KV "
                          "cache (Qwen2 and Llama-style models); generate: transformers' generate with "
                          "num_return_sequences; auto: shared-prefix where the model allows it"},
    )

    @property
    def fingerprint(self) -> str:
        """Names the model and every setting that changes what it samples, for a proof cache's failures
        (``search.policy_identity``); device and batch size do not count."""
        fields = ("model", "dtype", "temperature", "top_p", "max_new_tokens", "max_prompt_tokens", "seed",
                  "sampler")
        return settings_digest("model", {name: getattr(self, name) for name in fields})

    def __post_init__(self) -> None:
        problems = []
        if not self.model.strip():
            problems.append("model must be a non-empty path or hub id")
        if not _DEVICE_PATTERN.fullmatch(self.device):
            problems.append(f"device must be auto, cpu, mps, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in DTYPE_NAMES:
            problems.append(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {self.dtype!r}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            problems.append(f"temperature must be a finite number > 0, got {self.temperature}")
        if not (0 < self.top_p <= 1):
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            problems.append(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_prompt_tokens < 1:
            problems.append(f"max_prompt_tokens must be >= 1, got {self.max_prompt_tokens}")
        if self.sampler not in SAMPLERS:
            problems.append(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.seed is not None and self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if problems:
            raise ValueError("invalid HF policy configuration: " + "; ".join(problems))
