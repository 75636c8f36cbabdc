"""The proof-assistant backends the application can open, by name, with their config classes.

Backend modules are imported only when their name is used, so a missing optional dependency of one
backend never breaks the others or ``prover --help``.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

from search import Backend, BackendUnavailableError

if TYPE_CHECKING:
    from search.backends.coq import CoqBackendConfig
    from search.backends.lean import LeanDojoConfig, LeanReplConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendSpec:
    name: str
    assistant: str  # "lean" or "coq": decides how statements are read and which tactic list is used
    module: str
    backend_class: str
    config_class: str
    summary: str
    tactic_timeout: float = 12.0  # the default per-tactic limit (seconds) for this assistant
    plans: bool = False  # whether --planner works with it (planner.plan_backend_for knows it)

    def load(self) -> tuple[type, type]:
        module = importlib.import_module(self.module)
        return getattr(module, self.backend_class), getattr(module, self.config_class)


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("repl", "lean", "search.backends.lean", "LeanReplBackend", "LeanReplConfig",
                    "Lean 4 through a pool of Lean REPL processes (needs a built lean_project)", plans=True),
        BackendSpec("dojo", "lean", "search.backends.lean", "LeanDojoBackend", "LeanDojoConfig",
                    "Lean 4 through LeanDojo's Dojo (needs a traced repository)"),
        BackendSpec("coq", "coq", "search.backends.coq", "CoqBackend", "CoqBackendConfig",
                    "Coq 8.16+ through coqtop (apt-get install coq)", tactic_timeout=5.0, plans=True),
    )
}


BackendConfig = Union["CoqBackendConfig", "LeanReplConfig", "LeanDojoConfig"]


def backend_classes(name: str) -> tuple[type, type]:
    """The backend class and config class of backend ``name``; raises ``BackendUnavailableError`` when
    its module cannot be loaded."""
    try:
        return BACKENDS[name].load()
    except (ImportError, AttributeError) as exc:
        raise BackendUnavailableError(name, f"its module could not be loaded ({exc})") from exc


@dataclass(frozen=True)
class BackendSettings:
    """A backend by name with its validated config: a picklable factory of the backend (each sweep worker
    builds its own)."""

    name: str  # a key of BACKENDS
    config: BackendConfig

    @property
    def spec(self) -> BackendSpec:
        return BACKENDS[self.name]

    def with_imports(self, imports: tuple[str, ...]) -> BackendSettings:
        """These settings with ``imports`` (the libraries a policy's tactics need) added to the backend's
        own ``imports``, where it has some."""
        if not imports or not hasattr(self.config, "imports"):
            return self
        config: Any = self.config  # a config with ``imports`` (checked above)
        merged = tuple(dict.fromkeys((*config.imports, *imports)))
        return replace(self, config=replace(config, imports=merged))

    def __call__(self) -> Backend:
        """Build the backend (starting no process); raises ``BackendUnavailableError``."""
        backend_cls, _ = backend_classes(self.name)
        backend: Backend = backend_cls(self.config)
        return backend
