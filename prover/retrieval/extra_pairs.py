"""More (state, tactic) pairs for the retrieval index, beside the traced corpus: JSONL files whose rows
hold at least ``state`` and ``tactic`` (the pair files of expert iteration, ``prover.expert``).

Every line of every file is read, or the first bad one is an error naming the file and line: a pair file
cut short or edited by hand never silently loses rows. An empty file is a valid file with no pairs (a
round that found nothing new).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from prover.theorem_input import InputError


class ExtraPairsError(InputError):
    """A pair file that cannot be read (``path``, ``line``: 0 for the whole file, ``problem``)."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        super().__init__(f"{path}{f':{line}' if line else ''}: {problem}")
        self.path, self.line, self.problem = path, line, problem


def read_extra_pairs(paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    """The (state, tactic) pairs of the files, in file and line order; raises ``ExtraPairsError``."""
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExtraPairsError(name, 0, f"cannot read the pair file ({exc})") from None
        for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: \u2028 in a state
            if line.strip():
                yield _pair(name, number, line)


def _pair(name: str, number: int, line: str) -> tuple[str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ExtraPairsError(name, number, f"not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise ExtraPairsError(name, number, "a row must be a JSON object")
    state, tactic = row.get("state"), row.get("tactic")
    if not isinstance(state, str) or not state.strip():
        raise ExtraPairsError(name, number, "the row has no state (a non-empty string)")
    if not isinstance(tactic, str) or not tactic.strip():
        raise ExtraPairsError(name, number, "the row has no tactic (a non-empty string)")
    return state, tactic
