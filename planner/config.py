"""Settings of the planner: the chat model that writes plans (``PlannerClientConfig``) and the orchestration
that checks plans and proves their subgoals (``PlannerConfig``). Frozen and validated; the CLI builds its
``--planner-*`` options from the fields' ``help``. Nothing here reads the environment: the client resolves
``None`` fields from environment variables when it is built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from planner.endpoint import http_settings_problems

PROVIDERS = ("openai", "hf")
DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
MODEL_ENV = "PLANNER_MODEL"
BASE_URL_ENV = ("PLANNER_BASE_URL", "OPENAI_BASE_URL")
API_KEY_ENV = ("PLANNER_API_KEY", "OPENAI_API_KEY")
DEFAULT_BASE_URL = "http://localhost:8000/v1"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


@dataclass(frozen=True, kw_only=True)
class PlannerClientConfig:
    """Validated settings of the planner model: an OpenAI-compatible chat endpoint or a local model."""

    provider: str = field(
        default="openai",
        metadata={"help": "openai: an OpenAI-compatible /chat/completions endpoint (vLLM, SGLang, a hosted "
                          "API); hf: a local transformers causal LM with a chat template"},
    )
    model: str | None = field(
        default=None,
        metadata={"help": f"model name the endpoint serves, or (hf) a local directory or hub id; none: "
                          f"${MODEL_ENV}, read when the client is built"},
    )
    base_url: str | None = field(
        default=None,
        metadata={"help": f"endpoint URL up to and including /v1; none: ${BASE_URL_ENV[0]}, else "
                          f"${BASE_URL_ENV[1]}, else {DEFAULT_BASE_URL}"},
    )
    api_key: str | None = field(
        default=None,
        repr=False,
        metadata={"help": f"bearer token; none: ${API_KEY_ENV[0]}, else ${API_KEY_ENV[1]}; '' sends none"},
    )
    temperature: float = field(default=0.6, metadata={"help": "sampling temperature (>= 0)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass in (0, 1]"})
    max_tokens: int = field(
        default=4096, metadata={"help": "longest answer in tokens (reasoning models need thousands)"}
    )
    seed: int | None = field(default=None, metadata={"help": "sampling seed sent with each request"})
    timeout_s: float = field(
        default=600.0, metadata={"help": "seconds to wait for one answer (per attempt; reasoning is slow)"}
    )
    connect_timeout_s: float = field(default=10.0, metadata={"help": "seconds to wait for a connection"})
    max_retries: int = field(
        default=4, metadata={"help": "retries after a 429/408/5xx answer, a timeout or a connection error"}
    )
    backoff_s: float = field(
        default=1.0, metadata={"help": "first retry delay in seconds; doubles each retry (with jitter)"}
    )
    max_backoff_s: float = field(
        default=60.0, metadata={"help": "longest retry delay in seconds (a longer Retry-After is capped)"}
    )
    device: str = field(default="auto", metadata={"help": "hf: torch device: auto, cpu, cuda, cuda:N, mps"})
    dtype: str = field(
        default="auto", metadata={"help": "hf: weights: auto (bfloat16 on cuda), float32, bfloat16, float16"}
    )

    def __post_init__(self) -> None:
        problems = []
        if self.provider not in PROVIDERS:
            problems.append(f"provider must be one of {', '.join(PROVIDERS)}, got {self.provider!r}")
        if self.model is not None and not self.model.strip():
            problems.append("model must be non-empty (or none to read the environment)")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            problems.append(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            problems.append(f"temperature must be a finite number >= 0, got {self.temperature}")
        if not (0 < self.top_p <= 1):
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            problems.append(f"max_tokens must be >= 1, got {self.max_tokens}")
        problems += http_settings_problems(self)
        if not _DEVICE.fullmatch(self.device):
            problems.append(f"device must be auto, cpu, mps, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in DTYPE_NAMES:
            problems.append(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {self.dtype!r}")
        if problems:
            raise ValueError("invalid planner client configuration: " + "; ".join(problems))


@dataclass(frozen=True, kw_only=True)
class PlannerConfig:
    """Validated settings of planning: how plans are asked for and checked, and the subgoal budgets."""

    max_subgoals: int = field(default=8, metadata={"help": "most subgoals a plan may have"})
    plan_attempts: int = field(
        default=3,
        metadata={"help": "answers asked per round until one parses and elaborates in Lean (errors are fed "
                          "back to the model)"},
    )
    replans: int = field(
        default=2,
        metadata={"help": "new plans asked after a subgoal (or the main goal) exhausts its budget; the "
                          "proven prefix is kept word for word"},
    )
    subgoal_expansions: int | None = field(
        default=64, metadata={"help": "expansion budget of each subgoal's search (none: no limit)"}
    )
    subgoal_time_limit: float | None = field(
        default=120.0, metadata={"help": "time budget of each subgoal's search, in seconds (none: no limit)"}
    )
    main_expansions: int | None = field(
        default=128,
        metadata={"help": "expansion budget of the search for the main goal with every subgoal in context"},
    )
    main_time_limit: float | None = field(
        default=240.0, metadata={"help": "time budget of the main goal's search, in seconds (none: no limit)"}
    )
    time_limit: float | None = field(
        default=None,
        metadata={"help": "wall-clock budget of the whole planned attempt, in seconds (none: no limit)"},
    )
    worked_examples: int = field(
        default=4, metadata={"help": "worked examples shown to the planner model in its prompt (0 to 4)"}
    )
    direct_fallback: bool = field(
        default=True,
        metadata={"help": "when planning ends without a proof (no usable plan, re-plans used up, assembly "
                          "rejected), search the theorem directly with the search budgets "
                          "(--max-expansions, --time-limit), within the attempt's time limit"},
    )

    def __post_init__(self) -> None:
        problems = []
        for name in ("max_subgoals", "plan_attempts"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.replans < 0:
            problems.append(f"replans must be >= 0, got {self.replans}")
        for name in ("subgoal_expansions", "main_expansions"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be >= 1, got {value}")
        for name in ("subgoal_time_limit", "main_time_limit", "time_limit"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name} must be > 0 seconds, got {value}")
        if not 0 <= self.worked_examples <= 4:
            problems.append(f"worked_examples must be in 0..4, got {self.worked_examples}")
        if problems:
            raise ValueError("invalid planner configuration: " + "; ".join(problems))
