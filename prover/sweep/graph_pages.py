"""One explorer page per theorem of a sweep, in ``OUT/graphs/``, linked from the report.

A worker sends its search's graph (node-link JSON) with the attempt's record under ``GRAPH_FIELD``; the
driver writes the page and drops the graph before the record is stored, so ``results.jsonl`` stays
small. The last attempt at a theorem has its page (a later attempt replaces an earlier one's). The pages
share one copy of Cytoscape.js in the same folder, so the folder works offline and can be moved whole.

A planned attempt (``--planner``) sends the graphs of all its searches (``explorer.planned_graphs``): its
page is then the plan's overview, linking one page per search in ``graphs/NAME.searches/``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

GRAPH_FIELD = "graph"  # a record's transient field: the search graph as node-link JSON
FOLDER = "graphs"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_HASHED = re.compile(r"-[0-9a-f]{8}$")  # how a name made unique ends


def page_name(theorem: str) -> str:
    """A file name for ``theorem``'s page: the name itself where it is safe, else made safe and made
    unique with a short hash of the exact name.

    Only all-lower-case names stand for themselves: ``Foo`` and ``foo`` would share one file on a
    case-insensitive file system (macOS, Windows), so a name with a capital letter always has the hash
    (``Foo-1a2b3c4d.html`` beside ``foo.html``); nor does a name stand for itself when it ends like a
    hashed one. So two theorems' pages never have the same name up to case (short of a hash collision)."""
    safe = _UNSAFE.sub("_", theorem).strip("._")[:80]
    if safe == theorem and safe == safe.lower() and not _HASHED.search(safe):
        return f"{safe}.html"
    digest = hashlib.sha1(theorem.encode("utf-8")).hexdigest()[:8]
    return f"{safe or 'theorem'}-{digest}.html"


def graph_of(result: Any) -> dict[str, Any] | None:
    """A search result's graph as node-link JSON, for the record a worker returns."""
    if getattr(result, "graph", None) is None:
        return None
    from prover.explorer import node_link

    return node_link(result.graph)


def planned_graph_of(result: Any) -> dict[str, Any]:
    """A planned result's graphs, one per search it ran (``explorer.planned_graphs``)."""
    from prover.explorer import planned_graphs

    return planned_graphs(result)


def write_theorem_page(out: Path, record: dict[str, Any], graph: dict[str, Any]) -> Path | None:
    """Write the page of one attempt's graph into ``out/graphs``; returns its path, or ``None`` (with a
    warning) when the graph cannot be drawn: a page is a view, never a reason to stop a sweep."""
    from prover.explorer import explorer_model, is_planned, write_page, write_planned_pages

    title = f"{record['theorem']} (attempt {record.get('attempt', 1)})"
    path = out / FOLDER / page_name(record["theorem"])
    try:
        if is_planned(graph):
            return write_planned_pages(path, title=title, planner=record.get("planner") or {}, graphs=graph,
                                       status=record.get("status", ""), proof_text=record.get("proof_text"),
                                       shared_library=path.parent)
        model = explorer_model(graph, title=title, stop_reason=record.get("stop_reason"),
                               proof=record.get("proof"), stats=record.get("stats"))
        return write_page(model, path, shared_library=True)
    except (ValueError, OSError) as exc:
        logger.warning("%s: no explorer page (%s)", record["theorem"], exc)
        return None


def existing_pages(out: Path, theorems: Iterable[str]) -> dict[str, str]:
    """The pages in ``out/graphs`` of these theorems, as paths relative to ``out`` (report links)."""
    pages = {}
    for name in theorems:
        path = out / FOLDER / page_name(name)
        if path.is_file():
            pages[name] = f"{FOLDER}/{path.name}"
    return pages
