"""The step prover's prompt, the one format every way of running it shares: the pretty-printed state
followed by ``:::`` (BFS-Prover-V2's format); the model continues with one tactic and EOS."""

from __future__ import annotations

PROMPT_SUFFIX = ":::"


def step_prompt(state: str) -> str:
    """The prompt for ``state``: ``"{state}:::"``."""
    return f"{state}{PROMPT_SUFFIX}"
