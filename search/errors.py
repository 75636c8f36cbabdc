"""Typed exceptions of the engine. They carry data; the CLI turns them into messages at one boundary."""

from __future__ import annotations


class ProverError(Exception):
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
