"""The proof-assistant backends the application can open, by name, with their config classes.

Backend modules are imported only when their name is used, so a missing optional dependency of one
backend never breaks the others or ``prover --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prover.cli_options import add_config_options, config_from_args
from prover.theorem_input import InputError
from search import Backend, BackendUnavailableError

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


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """One option group per backend whose module is importable."""
    for spec in BACKENDS.values():
        try:
            _, config_cls = spec.load()
        except (ImportError, AttributeError) as exc:
            logger.debug("backend %s has no options: %s", spec.name, exc)
            continue
        group = parser.add_argument_group(f"{spec.name} backend", spec.summary)
        add_config_options(group, config_cls, prefix=spec.name)


def backend_factory(name: str, args: argparse.Namespace,
                    imports: tuple[str, ...] = ()) -> Callable[[], Backend]:
    """A picklable factory of backend ``name`` configured from the parsed options. ``imports`` (the
    libraries a policy's tactics need) are added to the backend's own ``imports`` when it has some.

    Raises ``BackendUnavailableError`` when the backend's module cannot load and ``InputError`` for
    invalid settings."""
    spec = BACKENDS[name]
    try:
        backend_cls, config_cls = spec.load()
    except (ImportError, AttributeError) as exc:
        raise BackendUnavailableError(name, f"its module could not be loaded ({exc})") from exc
    try:
        config = config_from_args(config_cls, args, prefix=name)
        if imports and hasattr(config, "imports"):
            config = dataclasses.replace(config, imports=tuple(dict.fromkeys((*config.imports, *imports))))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return functools.partial(backend_cls, config)
