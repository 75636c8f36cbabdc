"""Config files: ``--config run.toml`` for ``prove``, ``sweep`` and ``train``, and ``--print-config``.

A config file holds the tables ``--print-config`` writes (``RunSpec.tables`` and the command's own:
``sweep``, ``server``, ``expert``, ``filter``, ``train``); each key is a field of a config class and means
what the option of the same name means (``[search] max_expansions = 64`` is ``--max-expansions 64``,
``[coq] memory_limit_mb = 2048`` is ``--coq-memory-limit-mb 2048``). The file's values become the
command line's defaults, so an option given on the command line overrides the file. Every value is checked
against its field's rules when the file is read; an unknown table or key is an error, and every problem of
the file is reported at once, naming the file and the key. A table of another command (``[sweep]`` read by
``prove``) is skipped with a warning, so one file serves them all. ``"none"`` stands for an unset optional
value; relative paths are relative to the working directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
import tomllib
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.backends import BACKENDS, backend_classes
from prover.policies.spec import POLICIES
from prover.run_spec import BACKEND_SKIPPED, RETIRED_KEYS, DriverConfig
from prover.theorem_input import InputError, read_text
from search import BackendUnavailableError
from search.validation import Validated, field_problems, scalar_type, setting

logger = logging.getLogger(__name__)

TACTICS_DEST = "tactics_list"  # [policy] tactics: a list, where --tactics is one comma-separated string
COMMANDS = ("prove", "sweep", "train")


@dataclass(frozen=True, kw_only=True)
class BackendChoice(Validated):
    """The ``[backend]`` table: ``--backend``."""

    config_name = "backend choice"

    name: str = setting("repl", choices=tuple(BACKENDS), help="the proof assistant's backend")


@dataclass(frozen=True, kw_only=True)
class PolicyChoice(Validated):
    """The ``[policy]`` table: ``--policy``, ``--tactics`` (a list here) and ``--tactics-file``."""

    config_name = "policy choice"

    kind: str | None = setting(None, choices=POLICIES, help="which step prover proposes tactics")
    tactics: tuple[str, ...] | None = setting(None, nonblank=True, min_items=1,
                                              help="the tactic list, best first")
    tactics_file: str | None = setting(None, help="a file of tactics, one per line")


@dataclass(frozen=True, kw_only=True)
class PlannerSwitch(Validated):
    """The ``[planner]`` table's ``enabled``: ``--planner``."""

    config_name = "planner switch"

    enabled: bool = setting(False, help="prove through plans")


@dataclass(frozen=True)
class Table:
    """One table of a config file: the config classes whose fields are its keys, and the command-line
    destination of each key (``prefix_key`` unless ``dests`` names another)."""

    name: str
    classes: tuple[type, ...]
    prefix: str = ""
    dests: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()

    def fields(self) -> dict[str, tuple[type, dataclasses.Field[Any]]]:
        return {f.name: (cls, f) for cls in self.classes for f in dataclasses.fields(cls)
                if f.init and f.name not in self.skip}

    def dest(self, key: str) -> str:
        return self.dests.get(key) or (f"{self.prefix}_{key}" if self.prefix else key)


# The tables only some commands read, and the command that reads them first: a file written for one
# (`prover train --print-config`) also serves the others, which skip them with a warning.
OTHER_COMMANDS_TABLES = {"server": "sweep", "sweep": "sweep", "expert": "train", "filter": "train",
                         "train": "train", "retrieval_loop": "train", "planner": "prove"}


def command_tables(command: str) -> dict[str, Table]:
    """The tables a config file of ``command`` (prove, sweep or train) may hold."""
    from planner import PlannerClientConfig, PlannerConfig
    from prover.expert.config import ExpertConfig, FilterConfig, TrainConfig
    from prover.expert.loop_config import RetrievalLoopConfig
    from prover.parallel.policy_server import PolicyServerConfig
    from prover.policies.hf_policy_config import HFPolicyConfig
    from prover.policies.openai_policy import OpenAIPolicyConfig
    from prover.retrieval.policy import RetrievalConfig
    from prover.sweep.config import SweepConfig
    from search import SearchConfig

    tables = [Table("backend", (BackendChoice,), dests={"name": "backend"}), Table("driver", (DriverConfig,)),
              Table("search", (SearchConfig,)),
              Table("policy", (PolicyChoice,), dests={"kind": "policy", "tactics": TACTICS_DEST}),
              Table("model", (HFPolicyConfig,), "model"), Table("openai", (OpenAIPolicyConfig,), "openai"),
              Table("retrieval", (RetrievalConfig,), "retrieval", dests={"corpus": "corpus"})]
    tables += [Table(name, (config_cls,), name, skip=BACKEND_SKIPPED)
               for name, config_cls in _backend_configs()]
    if command in ("prove", "sweep"):
        tables.append(Table("planner", (PlannerSwitch, PlannerClientConfig, PlannerConfig), "planner",
                            dests={"enabled": "planner"}))
    if command in ("sweep", "train"):
        tables += [Table("server", (PolicyServerConfig,), "server"),
                   Table("sweep", (SweepConfig,), skip=("out",) if command == "train" else ())]
    if command == "train":
        tables += [Table("expert", (ExpertConfig,), skip=("filter", "train")),
                   Table("filter", (FilterConfig,), "filter"), Table("train", (TrainConfig,), "train"),
                   Table("retrieval_loop", (RetrievalLoopConfig,))]
    return {table.name: table for table in tables}


def _backend_configs() -> list[tuple[str, type]]:
    """(name, config class) of each backend whose module loads."""
    found = []
    for name in BACKENDS:
        try:
            found.append((name, backend_classes(name)[1]))
        except BackendUnavailableError:
            continue
    return found


def read_config_file(path: Path, command: str) -> dict[str, Any]:
    """The command-line defaults a config file of ``command`` sets (destination -> value). Raises
    ``InputError`` naming the file and every problem: unreadable, not TOML, unknown tables or keys,
    values of the wrong type or out of bounds."""
    text = read_text(path)  # a byte-order mark is no error; a bad byte is named by line and column
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not a valid TOML file: {exc}") from None
    tables = command_tables(command)
    defaults: dict[str, Any] = {}
    problems: list[str] = []
    for name, content in data.items():
        table = tables.get(name)
        if table is None and name in OTHER_COMMANDS_TABLES:  # one file for prove, sweep and train
            logger.warning("%s: table [%s] is for `prover %s`; `prover %s` ignores it", path, name,
                           OTHER_COMMANDS_TABLES[name], command)
        elif table is None:
            problems.append(f"unknown table [{name}]{_closest(name, tables)} (a `prover {command}` config "
                            f"file has: {', '.join(tables)})")
        elif not isinstance(content, dict):
            problems.append(f"{name} must be a table ([{name}]), got {content!r}")
        else:
            problems += _read_table(table, content, defaults)
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    return defaults


def _read_table(table: Table, content: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    known = table.fields()
    problems = []
    for key, raw in content.items():
        if f"{table.name}.{key}" in RETIRED_KEYS:
            logger.warning("%s.%s is no longer a setting and is ignored: %s", table.name, key,
                           RETIRED_KEYS[f"{table.name}.{key}"])
            continue
        if key not in known:
            problems.append(f"unknown key {table.name}.{key}{_closest(key, known, table.name + '.')}")
            continue
        cls, spec = known[key]
        annotation = typing.get_type_hints(cls)[key]
        value = _from_toml(raw, annotation)
        problems += [f"{table.name}.{message}" for message in field_problems(spec, value, annotation)]
        defaults[table.dest(key)] = value
    return problems


def _from_toml(value: Any, annotation: Any) -> Any:
    """A TOML value as the field's type: ``"none"`` is ``None`` for an optional field, a list a tuple, an
    integer a float where a number is meant."""
    kind, optional = scalar_type(annotation)
    if optional and value == "none":
        return None
    if isinstance(value, list) and typing.get_origin(kind) is tuple:
        return tuple(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _closest(word: str, known: Sequence[str] | dict[str, Any], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.7)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def add_config_file_options(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``--print-config`` for a command that builds a ``RunSpec``."""
    group = parser.add_argument_group("configuration file")
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="read settings from a TOML file (the tables --print-config writes); options "
                            "given on the command line override the file")
    group.add_argument("--print-config", action="store_true",
                       help="print the effective configuration as TOML (a file --config reads) and exit "
                            "without running anything")


def apply_config_file(parser: argparse.ArgumentParser, args: argparse.Namespace,
                      argv: Sequence[str] | None) -> argparse.Namespace:
    """``args`` as parsed from ``argv``; with ``--config FILE``, ``argv`` parsed again with the file's
    values as the defaults of the chosen command's options, so that the options given override the file.
    Raises ``InputError`` naming the file and each problem in it."""
    path = getattr(args, "config", None)
    if path is None or args.command not in COMMANDS:
        return args
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = commands.choices[args.command]
    try:
        defaults = read_config_file(path, args.command)
    except InputError as exc:  # every problem at once: the options' own too
        given = option_problems(command, args)
        if given:
            raise InputError(f"{exc}; and the options given: {'; '.join(given)}") from None
        raise
    tactic_sources = [dest for dest in (TACTICS_DEST, "tactics_file") if dest in defaults]
    if len(tactic_sources) > 1:
        raise InputError(f"{path}: give policy.tactics or policy.tactics_file, not both")
    if getattr(args, "tactics", None) is not None or getattr(args, "tactics_file", None) is not None:
        for dest in tactic_sources:  # the command line's tactic list replaces the file's, whichever form
            del defaults[dest]
    command.set_defaults(**defaults)
    return parser.parse_args(argv)


_OPTION_OF_DEST = {TACTICS_DEST: "--tactics", "corpus": "--corpus"}


def option_for(table: str, key: str) -> str | None:
    """The command-line option that sets ``table.key`` (in any command), or ``None``."""
    for command in COMMANDS:
        found = command_tables(command).get(table)
        if found is not None and key in found.fields():
            dest = found.dest(key)
            return _OPTION_OF_DEST.get(dest, "--" + dest.replace("_", "-"))
    return None


def with_option(table: str, message: str) -> str:
    """``table.MESSAGE`` where ``MESSAGE`` starts with a key, naming the option that sets it too:
    ``sweep.workers (--workers) must be >= 1``; a message about no single key is only prefixed."""
    key = message.split(" ", 1)[0].rstrip(":")
    option = option_for(table, key)
    if option is None:
        return f"{table}.{message}"
    return f"{table}.{key} ({option}){message[len(key):]}"


def option_problems(command: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The problems of the config values given as options (those that differ from the option's default),
    by the same rules a config file's values are checked by."""
    problems: list[str] = []
    for table in command_tables(args.command).values():
        for key, (cls, spec) in table.fields().items():
            dest = table.dest(key)
            if not hasattr(args, dest) or getattr(args, dest) == command.get_default(dest):
                continue
            annotation = typing.get_type_hints(cls)[key]
            problems += [with_option(table.name, message)
                         for message in field_problems(spec, getattr(args, dest), annotation)]
    return problems
