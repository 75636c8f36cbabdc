"""Building the planner client a config names. Kept apart from ``planner.client`` (the interface the
clients import), so that no module imports one that imports it back."""

from __future__ import annotations

from planner.client import PlannerClient
from planner.config import PlannerClientConfig


def make_planner_client(config: PlannerClientConfig) -> PlannerClient:
    """The client ``config.provider`` names. Raises ``PlannerConfigError`` when no model is named and
    ``PlannerModelLoadError`` when a local model cannot load."""
    if config.provider == "hf":
        from planner.hf_chat import HFChatPlanner

        return HFChatPlanner(config)
    from planner.openai_chat import OpenAIChatPlanner

    return OpenAIChatPlanner(config)
