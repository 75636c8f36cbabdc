"""One run's configuration as one frozen, typed value: the ``RunSpec``.

The command line (``prover.cli.spec``), with or without a config file, builds it once; after that only the
spec travels: to the search (``search.prove(..., sessions=spec.driver.sessions)`` chooses the driver), to
every sweep worker (``prover.sweep.worker.WorkerSetup``) and into a sweep's results folder, as TOML
(``tables``, written by ``render_toml``). The tables are the ones a ``--config`` file holds
(``prover.cli.config_file`` reads them), so the configuration a run prints or stores can be given back to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from prover.backends import BACKENDS, BackendSettings
from prover.parallel.policy_server import PolicyServerConfig
from prover.planner_settings import PlannerSettings
from prover.policies.spec import PolicySpec
from search import SearchConfig
from search.validation import Validated, setting

Tables = dict[str, dict[str, Any]]
BACKEND_SKIPPED = ("tactic_timeout",)  # backend settings the search's (--tactic-timeout) gives instead
# settings a configuration no longer holds, with what gives them now: an old sweep folder's or config
# file's value is ignored (with a warning when read from a file), never compared on resume
RETIRED_KEYS = {f"{backend}.{key}": f"[search] {key} (--{key.replace('_', '-')}) sets it"
                for backend in BACKENDS for key in BACKEND_SKIPPED}
DERIVED_NOTE = "  # unset: the default for the policy and backend"


@dataclass(frozen=True, kw_only=True)
class DriverConfig(Validated):
    """How a search is driven: one proof-assistant session (the sequential driver) or several (the
    overlapped driver); ``search.prove`` chooses by ``sessions``."""

    config_name = "driver configuration"

    sessions: int = setting(
        1, min=1,
        help="proof-assistant sessions per search; above 1, sibling tactics run in parallel and the model "
             "works meanwhile (pair with --expansion-width) (default: 1, the sequential driver)")


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """Everything that decides how a theorem is proved: the backend, the policy, the search and its
    driver, the planner (``None``: no planning) and, for sweeps with a model, its policy servers.

    ``derived`` names the search settings the user left to the policy's or the backend's default
    (``tactics_per_node``, ``tactic_timeout``): they hold the value used, and a written configuration
    shows them as comments, so that giving it back derives them again."""

    backend: BackendSettings
    policy: PolicySpec
    search: SearchConfig
    driver: DriverConfig = field(default_factory=DriverConfig)
    planner: PlannerSettings | None = None
    server: PolicyServerConfig | None = None
    derived: tuple[str, ...] = ()

    def tables(self) -> Tables:
        """The spec as the tables of a config file (``prover.cli.config_file``): ``backend``, ``driver``,
        ``search``, ``policy``, the policy's own table (``model``, ``openai`` or ``retrieval``), the
        backend's (``coq``, ``repl`` or ``dojo``), ``planner`` and ``server``. Secrets (API keys) are left
        out; ``None`` is the string ``"none"``."""
        tables: Tables = {"backend": {"name": self.backend.name}, "driver": config_table(self.driver),
                          "search": config_table(self.search),
                          "policy": {"kind": self.policy.kind, "tactics": toml_value(self.policy.tactics)}}
        own = {"model": self.policy.model, "openai": self.policy.endpoint, "retrieval": self.policy.retrieval}
        if own.get(self.policy.kind) is not None:
            tables[self.policy.kind] = config_table(own[self.policy.kind])
        tables[self.backend.name] = {key: value for key, value in config_table(self.backend.config).items()
                                     if key not in BACKEND_SKIPPED}
        tables["planner"] = {"enabled": self.planner is not None}
        if self.planner is not None:
            tables["planner"] |= config_table(self.planner.client) | config_table(self.planner.planner)
        if self.server is not None:
            tables["server"] = config_table(self.server)
        return tables

    def commented(self) -> dict[str, str]:
        """The ``table.key`` names a written configuration shows as comments, with what the comment says
        instead of the value ("": the value, a ``derived`` setting): giving the file back gives the same
        values. A long default (the Coq backend's allowed axioms) is named, not listed."""
        shown = {f"search.{name}": "" for name in self.derived}
        from search.backends.coq.axioms import LIBRARY_AXIOMS

        if getattr(self.backend.config, "allowed_axioms", None) == LIBRARY_AXIOMS:
            shown[f"{self.backend.name}.allowed_axioms"] = (
                f"the default, the {len(LIBRARY_AXIOMS)} axioms the libraries declare "
                "(search.backends.coq.axioms.LIBRARY_AXIOMS); set it to allow others")
        return shown


def config_table(config: Any) -> dict[str, Any]:
    """A config dataclass as one table: every field but secrets (``repr=False``), tuples as lists and
    ``None`` as ``"none"`` (TOML has no null; the loader reads it back as ``None``)."""
    return {f.name: toml_value(getattr(config, f.name)) for f in dataclasses.fields(config) if f.repr}


def toml_value(value: Any) -> Any:
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return [toml_value(item) for item in value]
    return value


def flatten(tables: Tables) -> dict[str, Any]:
    """``{"table.key": value}``: what a resumed sweep compares with the configuration it was started with."""
    return {f"{name}.{key}": value for name, table in tables.items() for key, value in table.items()}


def render_toml(tables: Tables, commented: Mapping[str, str] | None = None, title: str = "") -> str:
    """The tables as a TOML file; keys named in ``commented`` (``table.key``, ``RunSpec.commented``) are
    written as comments: with no text, values a run derived, which giving the file back derives again;
    with a text, that note naming a long default instead of its value."""
    notes = commented or {}
    lines = [f"# {line}" for line in title.splitlines()]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        for key, value in table.items():
            note = notes.get(f"{name}.{key}")
            if note:
                lines.append(f"# {key}: {note}")
                continue
            text = tomli_w.dumps({key: value}).rstrip("\n")
            if note is not None:
                text = "\n".join(f"# {line}" for line in text.splitlines()) + DERIVED_NOTE
            lines.append(text)
    return "\n".join(lines).lstrip("\n") + "\n"
