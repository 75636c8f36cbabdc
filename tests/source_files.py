"""Writing a source file for a test: ``folder/name``, its folders made, for tracing or benchmarking."""

from __future__ import annotations

from pathlib import Path


def write_source(folder: Path, name: str, text: str) -> Path:
    """``text`` written to ``folder/name`` (sub-folders created); the file's path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
