"""``--help`` of a command with a hundred options: the few most runs need, then the other groups by name
and size; ``--help-all`` lists every option.

A command opts in with ``set_common_options(parser, [...])``; its ``--help`` then shows the positionals,
those options, and one line per group whose options it leaves out, so that the first screen a new user
sees is the one they need. Nothing is hidden from ``--help-all``, from ``--config`` or from parsing.
"""

from __future__ import annotations

import argparse
import copy
import textwrap
from collections.abc import Iterable
from typing import Any


class _HelpAll(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        # the parser is a ProverArgumentParser (options.py, which imports this module: no isinstance here)
        parser.print_help_all()  # type: ignore[attr-defined]
        parser.exit()


def set_common_options(parser: argparse.ArgumentParser, options: Iterable[str]) -> None:
    """Make ``parser``'s ``--help`` show only ``options`` (option strings or positional names) and add
    ``--help-all``; raises ``ValueError`` naming an option the parser does not have."""
    known = {name for action in parser._actions for name in (*action.option_strings, action.dest)}
    missing = sorted(set(options) - known)
    if missing:
        raise ValueError(f"{parser.prog}: no such options: {', '.join(missing)}")
    parser.add_argument("--help-all", action=_HelpAll, help="list every option, by group")
    # read by ProverArgumentParser.format_help; set on any parser so that subparsers built by argparse's
    # add_subparsers (typed as plain ArgumentParser) carry it too
    parser.common_options = frozenset([*options, "--help-all", "-h"])  # type: ignore[attr-defined]


def is_shown(action: argparse.Action, common: frozenset[str]) -> bool:
    if not action.option_strings:
        return True  # positionals are always shown
    return any(name in common for name in action.option_strings)


def short_groups(parser: argparse.ArgumentParser, common: frozenset[str]) -> tuple[list[Any], str]:
    """Copies of ``parser``'s groups keeping only the shown options, and the line naming the rest."""
    groups, left, total = [], [], 0
    for group in parser._action_groups:
        shown = [a for a in group._group_actions if is_shown(a, common)]
        hidden = len(group._group_actions) - len(shown)
        if hidden:
            left.append(f"{group.title} ({hidden})")
            total += hidden
        if shown:
            kept = copy.copy(group)
            kept._group_actions = shown
            kept.description = None if hidden else group.description
            groups.append(kept)
    more = (textwrap.fill(f"{total} more options, in groups: {', '.join(left)}. '{parser.prog} --help-all' "
                          "lists them all.", width=100) if left else "")
    return groups, more
