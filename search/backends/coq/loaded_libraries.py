"""Which compiled libraries a list of Coq sentences loads, as Coq itself answers it.

Both the library-premise policy (the lemmas a theorem's header brings into scope) and the stdlib
benchmark (whether a preamble loads the compiled copy of the lemma's own file) need this answer; it is
read after ``Print Libraries``'s own heading, so text printed by the sentences before cannot add a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.verify import run_coqc
from search.errors import ProverError

_HEADING = "Loaded library files:"
LIBRARY_NAME = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*\Z")  # a logical name: Coq.Lists.List


class LibrariesUnknownError(ProverError):
    """The sentences do not compile alone, so what they load is unknown."""


def loaded_libraries(sentences: Sequence[str], config: CoqBackendConfig) -> frozenset[str]:
    """The logical names of the libraries loaded after ``sentences`` (coqc, then ``Print Libraries``).
    Raises ``LibrariesUnknownError`` when they do not compile, ``BackendUnavailableError`` or
    ``ProcessError`` when coqc cannot run."""
    code, output = run_coqc("\n".join((*sentences, "Print Libraries.")) + "\n", config)
    if code != 0 or _HEADING not in output:
        raise LibrariesUnknownError(f"the sentences do not compile alone: {output[-300:]}")
    listing = output.rpartition(_HEADING)[2]
    return frozenset(word for word in listing.split() if LIBRARY_NAME.match(word))
