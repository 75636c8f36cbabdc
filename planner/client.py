"""The planner model's interface: chat messages in, the assistant's text out.

Two implementations: ``OpenAIChatPlanner`` (an OpenAI-compatible ``/chat/completions`` endpoint, over
httpx) and ``HFChatPlanner`` (a local transformers model and its chat template).
``planner.client_factory.make_planner_client`` builds the one a config names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from search.validation import Validated, setting

ROLES = ("system", "user", "assistant")
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, only a lone one: JSON joins a valid pair


@dataclass(frozen=True)
class ChatMessage(Validated):
    """One message of a chat conversation."""

    config_name = "chat message"

    role: str = setting(choices=ROLES, help="who speaks: system, user or assistant")
    content: str = setting(help="the message's text")

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class ChatAnswer:
    """One assistant answer: its text, and whether the model stopped at its length limit (``cut_off``)
    rather than ending the answer itself, so that a plan whose last line was cut is not read as whole."""

    text: str
    cut_off: bool = False

    def __post_init__(self) -> None:
        # a JSON answer may hold a lone surrogate ("\ud800"): no UTF-8 text, it would break every later
        # write of the answer (the retry request, --json, the results file); it becomes U+FFFD
        clean = _SURROGATE.sub("\ufffd", self.text)
        if clean != self.text:
            object.__setattr__(self, "text", clean)


@runtime_checkable
class PlannerClient(Protocol):
    """A chat model that writes plans.

    Contract: ``complete(messages)`` returns one assistant answer to the conversation (its text possibly
    empty: an empty answer is a bad plan, not an error; ``cut_off`` when the length limit ended it);
    ``timeout`` (seconds, retries included) is the time the planning attempt has left, which the client
    does not outlast. Failures of the model's service that survive the client's retries raise a
    ``PlannerError`` subclass (``PlannerEndpointError`` for HTTP). ``close()`` releases connections or the
    model; it is idempotent.
    """

    def complete(self, messages: Sequence[ChatMessage], *, timeout: float | None = None) -> ChatAnswer: ...

    def close(self) -> None: ...
