"""Settings of the planner: the chat model that writes plans (``PlannerClientConfig``) and the orchestration
that checks plans and proves their subgoals (``PlannerConfig``). Frozen and validated; the CLI builds its
``--planner-*`` options from the fields' ``help``. Nothing here reads the environment: the client resolves
``None`` fields from environment variables when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.endpoint import backoff_problems
from planner.model_loading import DEVICE_PATTERN, DTYPE_NAMES
from search.validation import MAX_SECONDS, Validated, setting

PROVIDERS = ("openai", "hf")
MODEL_ENV = "PLANNER_MODEL"
BASE_URL_ENV = ("PLANNER_BASE_URL", "OPENAI_BASE_URL")
API_KEY_ENV = ("PLANNER_API_KEY", "OPENAI_API_KEY")
DEFAULT_BASE_URL = "http://localhost:8000/v1"


@dataclass(frozen=True, kw_only=True)
class PlannerClientConfig(Validated):
    """Validated settings of the planner model: an OpenAI-compatible chat endpoint or a local model."""

    config_name = "planner client configuration"

    provider: str = setting(
        "openai", choices=PROVIDERS,
        help="openai: an OpenAI-compatible /chat/completions endpoint (vLLM, SGLang, a hosted API); hf: a "
             "local transformers causal LM with a chat template")
    model: str | None = setting(
        None, nonblank=True,
        help=f"model name the endpoint serves, or (hf) a local directory or hub id; none: ${MODEL_ENV}, read "
             f"when the client is built")
    base_url: str | None = setting(
        None, pattern=(r"https?://.*", "a URL starting with http:// or https://"),
        help=f"endpoint URL up to and including /v1; none: ${BASE_URL_ENV[0]}, else ${BASE_URL_ENV[1]}, else "
             f"{DEFAULT_BASE_URL}")
    api_key: str | None = setting(
        None, repr=False,
        help=f"bearer token; none: ${API_KEY_ENV[0]}, else ${API_KEY_ENV[1]}; '' sends none")
    temperature: float = setting(0.6, min=0, help="sampling temperature (>= 0)")
    top_p: float = setting(0.95, above=0, max=1, help="nucleus sampling mass in (0, 1]")
    max_tokens: int = setting(
        4096, min=1, help="longest answer in tokens (reasoning models need thousands)")
    seed: int | None = setting(None, help="sampling seed sent with each request")
    timeout_s: float = setting(
        600.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for one answer (per attempt; reasoning is slow)")
    connect_timeout_s: float = setting(10.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for a connection")
    max_retries: int = setting(
        4, min=0, help="retries after a 429/408/5xx answer, a timeout or a connection error")
    backoff_s: float = setting(
        1.0, min=0, max=MAX_SECONDS, help="first retry delay in seconds; doubles each retry (with jitter)")
    max_backoff_s: float = setting(
        60.0, min=0, max=MAX_SECONDS, help="longest retry delay in seconds (a longer Retry-After is capped)")
    device: str = setting(
        "auto", pattern=(DEVICE_PATTERN, "auto, cpu, mps, cuda or cuda:N"),
        help="hf: torch device: auto, cpu, cuda, cuda:N, mps")
    dtype: str = setting(
        "auto", choices=DTYPE_NAMES, help="hf: weights: auto (bfloat16 on cuda), float32, bfloat16, float16")

    def cross_checks(self) -> list[str]:
        return backoff_problems(self)


@dataclass(frozen=True, kw_only=True)
class PlannerConfig(Validated):
    """Validated settings of planning: how plans are asked for and checked, and the subgoal budgets."""

    config_name = "planner configuration"

    max_subgoals: int = setting(8, min=1, help="most subgoals a plan may have")
    plan_attempts: int = setting(
        3, min=1, help="answers asked per round until one parses and elaborates in Lean (errors are fed back "
                       "to the model)")
    replans: int = setting(
        2, min=0, help="new plans asked after a subgoal (or the main goal) exhausts its budget; the proven "
                       "prefix is kept word for word")
    subgoal_expansions: int | None = setting(
        64, min=1, help="expansion budget of each subgoal's search (none: no limit)")
    subgoal_time_limit: float | None = setting(
        120.0, above=0, max=MAX_SECONDS,
        help="time budget of each subgoal's search, in seconds (none: no limit)")
    main_expansions: int | None = setting(
        128, min=1, help="expansion budget of the search for the main goal with every subgoal in context")
    main_time_limit: float | None = setting(
        240.0, above=0, max=MAX_SECONDS,
        help="time budget of the main goal's search, in seconds (none: no limit)")
    time_limit: float | None = setting(
        None, above=0, max=MAX_SECONDS,
        help="wall-clock budget of the whole planned attempt, in seconds (none: no limit)")
    worked_examples: int = setting(
        4, min=0, max=4, help="worked examples shown to the planner model in its prompt (0 to 4)")
    direct_fallback: bool = setting(
        True, help="when planning ends without a proof (no usable plan, re-plans used up, assembly "
                   "rejected), search the theorem directly with the search budgets (--max-expansions, "
                   "--time-limit), within the attempt's time limit")
