"""The fixed split of the standard library by file, decided before any tuning and never changed.

A file's split is read off the SHA-256 of its path under ``theories/`` (``Lists/List.v``): the first
eight hex digits as an integer, modulo 10; 0 and 1 are ``test`` (about 20% of the files), 2 is ``valid``
(about 10%, for tuning), the rest ``train`` (the retrieval index). The prelude's own files (``Init/``,
replayed without the prelude) are always ``train``. A lemma's split is its file's, so no test lemma's
file ever reaches the index. Files a dataset holds from other developments than the standard library are
``train``: the split holds out standard-library files only (``file_split``).
"""

from __future__ import annotations

import hashlib

from prover.tracing.coq_files import STDLIB_SOURCE

SPLIT_RULE = "int(sha256(path)[:8], 16) % 10: 0-1 test, 2 valid, 3-9 train; Init/ always train"
SPLITS = ("train", "valid", "test")


def split_of(unit: str) -> str:
    """``train``, ``valid`` or ``test`` for a file named by its path under ``theories/``."""
    if unit.startswith("Init/"):
        return "train"
    bucket = int(hashlib.sha256(unit.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket < 2 else "valid" if bucket == 2 else "train"


def file_split(source: str, unit: str) -> str:
    """The split of a dataset's unit: ``split_of`` for the standard library's files (``source`` the
    stdlib's), ``train`` for any other development's."""
    return split_of(unit) if source == STDLIB_SOURCE else "train"
