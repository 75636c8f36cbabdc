"""How a command ends for its user: the exit code, and the one line an error prints.

Exit codes: 0 proved / done, 1 not proved, 2 bad input, 3 backend or model unavailable.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

EXIT_PROVED, EXIT_UNPROVED, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def print_error(console: Console, exc: BaseException) -> None:
    """``error: MESSAGE``, the message verbatim: a proof assistant's ``[term]`` is text, not markup."""
    console.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
