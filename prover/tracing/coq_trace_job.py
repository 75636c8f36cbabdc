"""What a Coq trace runs on: how files are replayed (``CoqTraceConfig``) and one file to trace
(``TraceJob``); read by the entry point (``coq_trace``) and the replay (``coq_replay``) alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.backends.coq.config import CoqBackendConfig
from search.validation import MAX_SECONDS, Validated, setting


@dataclass(frozen=True, kw_only=True)
class CoqTraceConfig(Validated):
    """How files are replayed: the backend settings (coqtop, its arguments, memory, printing depth: the
    same as the searches that will read the data) and the time limit of one sentence, in seconds."""

    config_name = "Coq trace configuration"

    backend: CoqBackendConfig = field(
        default_factory=CoqBackendConfig,
        metadata={"help": "coqtop and its settings, as the searches that read the data use them"})
    sentence_timeout: float = setting(
        120.0, above=0, max=MAX_SECONDS,
        help="seconds one sentence of a file may take before coqtop is killed")


@dataclass(frozen=True)
class TraceJob:
    """One file to trace: its path, its name in the dataset (relative to the corpus root), the corpus and
    trace names, and extra coqtop arguments for this file (its load path, ``-topfile`` with its path so the
    toplevel has the file's own logical name, ``-noinit`` for the prelude's own files)."""

    path: str
    unit: str
    source: str
    trace: str
    extra_args: tuple[str, ...] = ()
    dotted: tuple[str, ...] = ()  # dotted notation symbols its sibling files declare (split_source)
