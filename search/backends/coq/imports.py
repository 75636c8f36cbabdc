"""Libraries the backend loads after a theorem's header (the tactics a policy uses: ``lra``, ``nia``,
``sauto`` ...), and the check that they leave the statement's meaning alone.

The backend sends ``imports`` after the header in every session, and the verified file holds exactly the
same sentences at the same place. A library loaded after the header could shadow a name or a notation the
statement uses (a header's ``sum_n_m`` and Coquelicot's), so that the proof would be of another
proposition. The verified file therefore states the theorem twice: first under the header alone, as a field
of a module type (a signature: nothing is assumed by it), then, after the imports, as the theorem proved;
a module that implements the signature with the proved theorem is accepted by Coq only when both
statements are the same proposition (convertible types). Any difference is a compile error, so the proof
is rejected.
"""

from __future__ import annotations

import re

from search.backends.coq.sentences import SentenceError, split_sentences

_MODULE_PATH = r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*"
IMPORT_SENTENCE = re.compile(
    rf"(?:From\s+{_MODULE_PATH}\s+)?Require\s+(?:Import|Export)\s+{_MODULE_PATH}(?:\s+{_MODULE_PATH})*\s*\."
)
_REQUIRE = re.compile(
    rf"(?P<source>From\s+{_MODULE_PATH}\s+)?Require(?:\s+(?:Import|Export))?"
    rf"(?P<names>(?:\s+{_MODULE_PATH})+)\s*\."
)
SIGNATURE = "ProverStatementUnderHeader"
IMPLEMENTATION = "ProverStatementCheck"


def check_imports(imports: tuple[str, ...]) -> str | None:
    """Why ``imports`` cannot be loaded after a header, or None: each must be one ``Require Import``
    sentence (``From Lib Require Import M.`` allowed) naming libraries, nothing else."""
    for sentence in imports:
        if not isinstance(sentence, str):
            return f"an import must be a string, got {sentence!r}"
        try:
            parts = split_sentences(sentence)
        except SentenceError as exc:
            return f"import {sentence!r}: {exc}"
        if len(parts) != 1 or IMPORT_SENTENCE.fullmatch(parts[0]) is None:
            return f"import {sentence!r} is not one `Require Import Library.` sentence"
    return None


def statement_signature(statement: str) -> list[str]:
    """The lines that state the theorem under the header alone, as a signature (placed before the
    imports)."""
    return [f"Module Type {SIGNATURE}.", statement.strip(), "Admitted.", f"End {SIGNATURE}.", ""]


def statement_check(name: str) -> list[str]:
    """The lines, after the proof, that Coq accepts only when the proved statement is the one the header
    alone gives."""
    return ["", f"Module {IMPLEMENTATION} <: {SIGNATURE}.", f"Definition {name} := {name}.",
            f"End {IMPLEMENTATION}."]


def library_requires(sentences: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The libraries that ``sentences`` (a header's, the backend's imports) load, as ``Require``
    sentences that load them without importing anything (``From Hammer Require Import Tactics.`` gives
    ``From Hammer Require Tactics.``), in order, without repeats; other sentences give nothing."""
    found: list[str] = []
    for sentence in sentences:
        match = _REQUIRE.fullmatch(" ".join(sentence.split()))
        if match is None:
            continue
        source = " ".join(match["source"].split()) + " " if match["source"] else ""
        require = f"{source}Require {' '.join(match['names'].split())}."
        if require not in found:
            found.append(require)
    return tuple(found)
