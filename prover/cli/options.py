"""Command-line options generated from frozen config dataclasses, so the CLI and the configs never drift.

Each field becomes ``--prefix-field-name`` with the field's ``metadata["help"]`` and its default; the
parsed values are turned back into the validated dataclass by ``config_from_args``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import shlex
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from prover.cli.short_help import short_groups

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")  # a config dataclass
USAGE_LINES = 4  # a longer usage is replaced by the command's shape in --help
GIVEN_OPTIONS = "given_options"  # the parsed Namespace's record of the options the command line wrote


class ProverArgumentParser(argparse.ArgumentParser):
    """``prover``'s parsers (sub-command parsers inherit the class): abbreviated options are refused, and
    a bad command line gets one short usage line and the error (with the closest option for a typo),
    not the whole usage of a command with a hundred options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = self.parse_known_args(args, namespace)
        # an unknown option's value lands in extras too, or, worse, in a positional (the statement):
        # name the options alone, so the message does not quote a theorem as an argument
        options = [e for e in extras if e.startswith("--")]
        if options:
            self._chosen(namespace).error(f"unrecognized option{'s' if len(options) > 1 else ''}: "
                                          + shlex.join(options))
        if extras:
            self._chosen(namespace).error("unrecognized arguments: " + shlex.join(extras))
        written = sys.argv[1:] if args is None else list(args)
        setattr(namespace, GIVEN_OPTIONS, self._chosen(namespace).options_written(written))
        return namespace

    def options_written(self, argv: list[str]) -> dict[str, str]:
        """The options of this parser that ``argv`` writes: destination -> the option as written
        (``--corpus``), whatever its value, even the default one; a config file's values are not among
        them. A value that looks like an option is refused by argparse unless written ``--option=value``,
        one word here."""
        written: dict[str, str] = {}
        for word in argv:
            if word == "--":  # positionals only after it
                break
            action = self._option_string_actions.get(word.split("=", 1)[0]) if word.startswith("-") else None
            if action is not None:
                written.setdefault(action.dest, word.split("=", 1)[0])
        return written

    def _chosen(self, namespace: argparse.Namespace) -> ProverArgumentParser:
        """The (sub-)command parser that the command line selected, so that errors name it."""
        parser: ProverArgumentParser = self
        while True:
            commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            name = None if commands is None else getattr(namespace, commands.dest, None)
            chosen = None if commands is None or name is None else commands.choices.get(name)
            if not isinstance(chosen, ProverArgumentParser):
                return parser
            parser = chosen

    def short_usage(self) -> str:
        """``PROG [options] --REQUIRED VALUE POSITIONALS``: the shape of the command line, without the
        option list (options that must be given are shown)."""
        formatter = self._get_formatter()
        words = [self.prog]
        if any(action.option_strings and not action.required for action in self._actions):
            words.append("[options]")
        for action in self._actions:
            if action.option_strings and action.required:
                metavar = formatter._get_default_metavar_for_optional(action)
                words.append(f"{action.option_strings[0]} {formatter._format_args(action, metavar)}".strip())
        for action in self._actions:
            if not action.option_strings:
                metavar = formatter._get_default_metavar_for_positional(action)
                words.append(formatter._format_args(action, metavar))
        return " ".join(words)

    def format_help(self, *, every_option: bool = False) -> str:
        """argparse's help, but with the one-line usage of ``short_usage`` where the full usage would run
        over several lines, and, for a command with ``set_common_options``, only those options unless
        ``every_option`` (``--help-all``)."""
        common = getattr(self, "common_options", None)
        if common is None or every_option:
            return self._format_full_help()
        groups, more = short_groups(self, common)
        saved = self._action_groups, self.epilog
        self._action_groups = groups
        self.epilog = f"{more}\n\n{self.epilog}" if more and self.epilog else (more or self.epilog)
        try:
            return self._format_full_help()
        finally:
            self._action_groups, self.epilog = saved

    def print_help_all(self) -> None:
        self._print_message(self.format_help(every_option=True), sys.stdout)

    def _format_full_help(self) -> str:
        for action in self._actions:  # the option list says which options must be given
            if (action.option_strings and action.required and action.help != argparse.SUPPRESS
                    and "(required)" not in (action.help or "")):
                action.help = f"{action.help} (required)" if action.help else "required"
        if self.usage is not None or self.format_usage().count("\n") <= USAGE_LINES:
            return super().format_help()
        self.usage = self.short_usage()
        try:
            return super().format_help()
        finally:
            self.usage = None

    def error(self, message: str) -> typing.NoReturn:
        hint = self._suggestion(message)
        sys.stderr.write(f"usage: {self.short_usage()}   ('{self.prog} --help' lists the options)\n"
                         f"{self.prog}: error: {message}{hint}\n")
        sys.exit(2)

    def _suggestion(self, message: str) -> str:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice is not None:
            close = difflib.get_close_matches(choice[1], re.findall(r"'([^']*)'", choice[2]), n=1, cutoff=0.6)
            return f" (did you mean {close[0]}?)" if close else ""
        if not message.startswith("unrecognized "):
            return ""
        known = list(self._option_string_actions)
        close = []
        for word in shlex.split(message.split(":", 1)[1]):
            if word.startswith("--"):
                flag = word.split("=", 1)[0]
                longer = sorted(option for option in known if option.startswith(flag))  # an abbreviation
                close += longer[:1] if len(longer) == 1 else difflib.get_close_matches(flag, known, n=1,
                                                                                       cutoff=0.75)
        return f" (did you mean {', '.join(close)}?)" if close else ""


def _option_name(prefix: str, field_name: str) -> str:
    """``--prefix-field-name``; a field named like its prefix is plain ``--prefix``."""
    if field_name == prefix:
        return f"--{prefix}"
    return "--" + (f"{prefix}-" if prefix else "") + field_name.replace("_", "-")


def _dest(prefix: str, field_name: str) -> str:
    return (f"{prefix}_" if prefix else "") + field_name


def _scalar_type(annotation: Any) -> tuple[type, bool]:
    """The field's scalar type and whether it accepts ``None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _parse_optional(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "") else kind(text)

    parse.__name__ = kind.__name__
    return parse


def _shell_words(text: str) -> tuple[str, ...]:
    return tuple(shlex.split(text))


def _words_of(kind: Any) -> Callable[[str], tuple[Any, ...]]:
    """The parser of a tuple option: shell words, each read as the tuple's item type (numbers for
    ``tuple[float, ...]``; argparse names the option when one is not)."""
    args = typing.get_args(kind)
    item = args[0] if len(args) == 2 and args[1] is Ellipsis else str
    if item not in (int, float):
        return _shell_words

    def parse(text: str) -> tuple[Any, ...]:
        return tuple(item(word) for word in shlex.split(text))

    parse.__name__ = f"list of {item.__name__}"
    return parse


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_cls: type,
    *,
    prefix: str = "",
    skip: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
    helps: dict[str, str] | None = None,
) -> None:
    """Add one option per field of the dataclass ``config_cls`` (fields in ``skip`` are left out).

    ``defaults`` and ``helps`` replace a field's default and help text for this command line."""
    hints = typing.get_type_hints(config_cls)
    defaults = defaults or {}
    for field in dataclasses.fields(config_cls):
        if field.name in skip or not field.init:
            continue
        kind, optional = _scalar_type(hints[field.name])
        default = defaults.get(field.name, field.default)
        help_text = (helps or {}).get(field.name) or field.metadata.get("help", "")
        if "default" not in help_text:
            help_text += f" (default: {default})" if default is not None else " (default: none)"
        name, dest = _option_name(prefix, field.name), _dest(prefix, field.name)
        if kind is bool:
            parser.add_argument(name, dest=dest, default=default, help=help_text,
                                action=argparse.BooleanOptionalAction)
        elif typing.get_origin(kind) is tuple:
            shown = " ".join(map(str, default)) if default else "none"
            help_text = help_text.replace(f"(default: {default})", f"(default: {shown})")
            parser.add_argument(name, dest=dest, default=default, help=help_text,
                                type=_words_of(kind), metavar="WORDS")
        elif kind in (int, float, str, Path):
            parser.add_argument(name, dest=dest, default=default, help=help_text,
                                type=_parse_optional(kind) if optional else kind,
                                metavar=kind.__name__.upper())
        else:
            raise TypeError(f"{config_cls.__name__}.{field.name}: unsupported option type {kind}")


def config_from_args(config_cls: type[T], args: argparse.Namespace, *, prefix: str = "",
                     **overrides: Any) -> T:
    """Build the config from parsed options; raises ``ValueError`` from its validation."""
    values = {}
    for field in dataclasses.fields(config_cls):
        dest = _dest(prefix, field.name)
        if field.init and hasattr(args, dest):
            values[field.name] = getattr(args, dest)
    values.update(overrides)
    return config_cls(**values)


def output_file(text: str) -> Path:
    """An argparse ``type`` for a file the command will write: not a folder, and under folders (existing
    ones must be folders), so that a finished search is never lost to a path that cannot be written."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file name")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    return _under_folders(text, path)


def output_folder(text: str) -> Path:
    """An argparse ``type`` for a folder the command will write into: not an existing file, and under
    folders."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a folder")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file: give a folder")
    return _under_folders(text, path)


def _under_folders(text: str, path: Path) -> Path:
    """``path``, unless its nearest existing ancestor is a file (nothing could be created under it)."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {parent} is a file, not a folder")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: the folder {parent} cannot be written to")
    return path


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """``-v`` after a sub-command too (``prover prove -v``), adding to the count given before it."""
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="more logging: -v info (and, without a terminal, periodic status lines), "
                             "-vv debug")
