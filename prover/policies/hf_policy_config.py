"""Settings of the transformers step prover, importable without torch (the CLI builds its options from
them before any model library loads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.model_loading import DEVICE_PATTERN, DTYPE_NAMES
from planner.model_loading import check_model_reference as check_model_reference  # re-exported for drivers
from prover.policies.attempt_sampling import SCHEDULE_HELP, SEED_LIMIT, config_for_attempt, schedule_check
from search.errors import ModelLoadError as ModelLoadError  # re-exported: what loading this model raises
from search.policy_identity import settings_digest
from search.validation import Validated, setting

SAMPLERS = ("auto", "shared-prefix", "generate")


def model_files(model: str) -> list[tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of the files of a local model folder (weights, config, tokenizer);
    empty for a hub id or a missing path."""
    folder = Path(model)
    if not folder.is_dir():
        return []
    return sorted((path.name, path.stat().st_size, path.stat().st_mtime_ns)
                  for path in folder.iterdir() if path.is_file())


@dataclass(frozen=True, kw_only=True)
class HFPolicyConfig(Validated):
    """Validated settings of the transformers step prover. Defaults follow BFS-Prover-V2's released code."""

    config_name = "HF policy configuration"

    model: str = setting(
        "ByteDance-Seed/BFS-Prover-V2-7B", nonblank=True,
        help="local directory or Hugging Face hub id of a causal LM step prover")
    device: str = setting(
        "auto", pattern=(DEVICE_PATTERN, "auto, cpu, mps, cuda or cuda:N"),
        help="torch device: auto (cuda if available, else cpu), cpu, cuda, cuda:N or mps")
    dtype: str = setting(
        "auto", choices=DTYPE_NAMES,
        help="weights: auto (bfloat16 on cuda, float32 elsewhere), float32, bfloat16, float16")
    temperature: float = setting(
        1.3, above=0, help="sampling temperature (> 0); does not change the reported log-probs")
    top_p: float = setting(1.0, above=0, max=1, help="nucleus sampling mass in (0, 1]; 1 disables it")
    max_new_tokens: int = setting(128, min=1, help="longest tactic, in tokens (EOS included)")
    batch_size: int = setting(
        16, min=1, help="most states per generate call (each sampled n times, so batch_size * n rows)")
    max_prompt_tokens: int = setting(
        2048, min=1, help="states whose prompt is longer than this many tokens get no candidates (warned)")
    seed: int | None = setting(
        None, min=0, max=SEED_LIMIT - 1,
        help="seed for reproducible sampling (per policy instance and call sequence); attempt k of pass@N "
             "uses seed + k - 1")
    attempt_temperatures: tuple[float, ...] = setting(
        (), check=schedule_check(greedy_allowed=False), help=SCHEDULE_HELP)
    sampler: str = setting(
        "auto", choices=SAMPLERS,
        help="shared-prefix: each state is encoded once for its n samples, which share its KV cache (Qwen2 "
             "and Llama-style models); generate: transformers' generate with num_return_sequences; auto: "
             "shared-prefix where the model allows it")

    @property
    def fingerprint(self) -> str:
        """Names the model and every setting that changes what it samples, for a proof cache's failures
        (``search.policy_identity``); device and batch size do not count. A model in a local folder is
        named by its files too (name, size, modification time), so a model retrained into the same folder
        is another policy."""
        fields = ("model", "dtype", "temperature", "top_p", "max_new_tokens", "max_prompt_tokens", "seed",
                  "sampler", "attempt_temperatures")
        settings = {name: getattr(self, name) for name in fields}
        return settings_digest("model", {**settings, "files": model_files(self.model)})

    def for_attempt(self, attempt: int) -> HFPolicyConfig:
        """The settings attempt ``attempt`` of pass@N samples with (``prover.policies.attempt_sampling``):
        this config for the first, else its temperature and seed."""
        return config_for_attempt(self, attempt)


def require_model_folder(name: str, option: str) -> None:
    """Raise ``InputError`` naming ``option`` when the model ``name`` is a local folder with no
    ``config.json``: not a model, it would fail only when the first model loads it, after round 1's sweep. A
    hub id, or a path that is no folder (``check_model_reference``'s case), passes."""
    from prover.theorem_input import InputError

    folder = Path(name).expanduser()
    if folder.is_dir() and not (folder / "config.json").is_file():
        raise InputError(f"{option} {name}: the folder holds no config.json, so it is not a model folder "
                         "(one written by transformers' save_pretrained, with its tokenizer); name the "
                         "model's folder or a hub id")
