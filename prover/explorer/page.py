"""Writing an explorer page: one HTML file that draws a search graph with Cytoscape.js, offline.

The page holds its data as JSON in a ``<script type="application/json">`` element, the page's own
script and style inline, and Cytoscape.js either inline (``prove --html``: one self-contained file) or
from a copy beside the page (a sweep's ``graphs/`` folder, so that hundreds of pages share one library).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic

CYTOSCAPE_VERSION = "3.35.0"
LIBRARY = "cytoscape.min.js"
LIBRARY_LICENSE = "cytoscape.LICENSE"
_PLACEHOLDER = re.compile(r"\{\{([A-Z]+)\}\}")


def _asset(name: str) -> str:
    return resources.files("prover.explorer").joinpath("assets", name).read_text(encoding="utf-8")


def _script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``</``, no ``<!--``."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _inline_script(code: str) -> str:
    return "<script>\n" + code.replace("</script", "<\\/script") + "\n</script>"


def render_page(model: dict[str, Any], *, library_src: str | None = None,
                back: tuple[str, str] | None = None) -> str:
    """The page's HTML for an ``explorer_model``; with ``library_src`` Cytoscape.js is loaded from that
    relative URL instead of being inlined; ``back`` is ``(relative URL, label)`` of a link above the title
    (a planned attempt's search page back to its plan)."""
    if library_src is None:
        library = _inline_script(_asset(LIBRARY))
    else:
        library = f'<script src="{html.escape(library_src, quote=True)}"></script>'
    page = _asset("page.html")
    replacements = {
        "TITLE": html.escape(model["title"]),
        "STYLE": _asset("explorer.css"),
        "LIBRARY": library,
        "DATA": _script_json(model),
        "SCRIPT": _inline_script(_asset("explorer.js")),
        "VERSION": CYTOSCAPE_VERSION,
        "NAV": "" if back is None else (f'<nav><a href="{html.escape(back[0], quote=True)}">&#x2190; '
                                        f"{html.escape(back[1])}</a></nav>"),
    }
    # one pass, so that text inserted (a state, a tactic) is never scanned for placeholders
    return _PLACEHOLDER.sub(lambda match: replacements[match.group(1)], page)


def write_page(model: dict[str, Any], path: Path, *, shared_library: bool = False,
               library_dir: Path | None = None, back: tuple[str, str] | None = None) -> Path:
    """Write the page to ``path`` (parent folders are created). With ``shared_library`` the library and
    its licence are copied once beside the page (or into ``library_dir``, given alone too) and
    referenced, else inlined; ``back`` as in ``render_page``. Returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    src = None
    if shared_library or library_dir is not None:
        folder = library_dir or path.parent
        folder.mkdir(parents=True, exist_ok=True)
        for name in (LIBRARY, LIBRARY_LICENSE):
            target = folder / name
            if not target.exists():
                with resources.as_file(resources.files("prover.explorer").joinpath("assets", name)) as asset:
                    shutil.copyfile(asset, target)
        src = Path(os.path.relpath(folder / LIBRARY, path.parent)).as_posix()
    write_text_atomic(path, render_page(model, library_src=src, back=back))
    return path


def write_result_page(result: Any, path: Path, *, shared_library: bool = False) -> Path | None:
    """The page of a ``SearchResult``'s graph (``None`` when the result carries no graph)."""
    from prover.explorer.model import explorer_model, node_link

    if result.graph is None:
        return None
    proof = list(result.proof.tactics) if result.proof is not None else None
    model = explorer_model(node_link(result.graph), title=result.theorem,
                           stop_reason=result.stop_reason.value, proof=proof, stats=result.stats.as_dict())
    return write_page(model, path, shared_library=shared_library)
