"""Typed exceptions of the engine. They carry data; the CLI turns them into messages at one boundary.

Every exception the project raises must survive pickling (a sweep worker's error crosses Ray's process
boundary and must reach the driver as itself). Python pickles an exception as ``cls(*self.args)``, which
breaks as soon as ``__init__`` takes other arguments than the message; ``PicklableError`` pickles the
class, ``args`` and attributes instead, and rebuilds without calling ``__init__``.
"""

from __future__ import annotations

from typing import Any


def _rebuild_error(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    # The built-in class that lays the instance out (OSError's for an error that is also a ValueError and
    # a FileNotFoundError): its ``__new__`` is the one Python accepts for ``cls``.
    layout: type = cls
    while layout.__module__ != "builtins" and layout.__base__ is not None:
        layout = layout.__base__
    error: BaseException = layout.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class PicklableError(Exception):
    """Base (or mixin, placed first) of exceptions whose ``__init__`` takes other arguments than
    ``Exception``'s: they pickle by state, so the copy has the same message and attributes."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


class ProverError(PicklableError):
    """Base of every error the engine raises on purpose."""


class InvalidTheoremError(ProverError):
    """A theorem (statement or header) is refused or does not elaborate."""

    def __init__(self, theorem: str, reason: str) -> None:
        super().__init__(f"theorem {theorem!r}: {reason}")
        self.theorem = theorem
        self.reason = reason


class BackendUnavailableError(ProverError):
    """The proof assistant a backend needs is not installed, not configured, or does not start."""

    def __init__(self, backend: str, reason: str, fix: str | None = None) -> None:
        message = f"backend {backend!r} is unavailable: {reason}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)
        self.backend = backend
        self.reason = reason
        self.fix = fix


class TheoremLoadError(BackendUnavailableError):
    """The proof assistant started, then failed while loading one theorem (its header or statement): it
    died there on every try, or did not finish within its start-up time limit (a loaded machine). No
    verdict on the theorem (not ``InvalidTheoremError``: nothing in the proof assistant's reply refused it)
    and no fault of the whole backend: a sweep records an ``error`` for this attempt, goes on with the other
    theorems, and a resume runs it again. A ``BackendUnavailableError`` so that a death is retried as a
    start is (``search.backends.start_retry``) and a single ``prove`` reports it as one (exit 3)."""

    def __init__(self, backend: str, theorem: str, reason: str, fix: str | None = None) -> None:
        message = f"backend {backend!r} could not load theorem {theorem!r}: {reason}"
        if fix:
            message += f" ({fix})"
        ProverError.__init__(self, message)
        self.backend = backend
        self.theorem = theorem
        self.reason = reason
        self.fix = fix


class ModelLoadError(ProverError):
    """A model or its tokenizer could not be loaded (or placed on its device).

    ``model`` is the path or hub id as configured; ``reason`` says what went wrong and how to fix it.
    ``role`` (a class attribute) names what the model is for in the message.
    """

    role = "step-prover"

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"cannot load {self.role} model {model!r}: {reason}")
        self.model = model
        self.reason = reason
