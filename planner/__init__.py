"""The planner: an LLM splits a theorem into ``have`` subgoals, provers attack them in order, stuck ones
trigger a re-plan.

Entry point: ``prove_with_planner(theorem, backend=..., policy=..., ...) -> PlannedResult``. Plug-in
points: ``PlannerClient`` (the chat model: ``OpenAIChatPlanner`` over HTTP, ``planner.hf_chat.HFChatPlanner``
for a local transformers model, imported on demand so that this package does not import torch) and
``PlanBackend`` (plan checking and subgoal sessions: ``LeanReplPlanBackend`` for the Lean REPL,
``CoqPlanBackend`` for coqtop); the assistant's plan syntax, prompt and parser are its ``PlanDialect``.
"""

from planner.client import ChatAnswer, ChatMessage, PlannerClient
from planner.client_factory import make_planner_client
from planner.config import PlannerClientConfig, PlannerConfig
from planner.coq_parse import parse_coq_plan
from planner.coq_plan import CoqPlanBackend
from planner.dialect import COQ, LEAN, PlanDialect, dialect_of
from planner.errors import (
    PlannerConfigError,
    PlannerEndpointError,
    PlannerError,
    PlannerModelLoadError,
    PlanningUnsupportedError,
)
from planner.lean_plan import LeanReplPlanBackend, plan_backend_for
from planner.openai_chat import OpenAIChatPlanner
from planner.orchestrate import prove_with_planner
from planner.parse import parse_plan
from planner.plan import Plan, PlanParse, Rejection, Subgoal
from planner.progress import PlanObserver, PlanProgress, PlanStage
from planner.protocols import PlanBackend, PlanCheck, PlanNotOpened, PlanProblem
from planner.result import (
    PlanAttempt,
    PlannedResult,
    PlannerStats,
    PlanRound,
    PlanStopReason,
    SubgoalOutcome,
)
from planner.subgoal_search import have_block, planned_tactics, replay_verifier

__all__ = [
    "COQ",
    "LEAN",
    "ChatAnswer",
    "ChatMessage",
    "CoqPlanBackend",
    "LeanReplPlanBackend",
    "OpenAIChatPlanner",
    "Plan",
    "PlanAttempt",
    "PlanBackend",
    "PlanCheck",
    "PlanDialect",
    "PlanNotOpened",
    "PlanObserver",
    "PlanParse",
    "PlanProblem",
    "PlanProgress",
    "PlanRound",
    "PlanStage",
    "PlanStopReason",
    "PlannedResult",
    "PlannerClient",
    "PlannerClientConfig",
    "PlannerConfig",
    "PlannerConfigError",
    "PlannerEndpointError",
    "PlannerError",
    "PlannerModelLoadError",
    "PlannerStats",
    "PlanningUnsupportedError",
    "Rejection",
    "Subgoal",
    "SubgoalOutcome",
    "dialect_of",
    "have_block",
    "make_planner_client",
    "parse_coq_plan",
    "parse_plan",
    "plan_backend_for",
    "planned_tactics",
    "prove_with_planner",
    "replay_verifier",
]
