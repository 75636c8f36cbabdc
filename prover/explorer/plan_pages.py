"""Explorer pages of a planned attempt (``--planner``): one overview page and one graph page per search.

A planned attempt runs one search per subgoal of each round's plan, one for the main goal and perhaps a
fallback search of the whole theorem. Its overview page (at the path a single search's page would have)
shows every round's plan: each subgoal with its outcome, search size and a link to the page of its search
graph; those pages sit in a folder beside it (``NAME.searches/``) and link back. The overview needs no
script; the graph pages are ordinary explorer pages.

The searches' graphs travel as ``planned_graphs`` (node-link JSON, from a sweep worker to the driver);
the rounds and outcomes come from the attempt's record (``PlannedResult.as_dict()["planner"]``).
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic
from prover.explorer.model import explorer_model, node_link
from prover.explorer.page import write_page

SEARCHES = "searches"  # key of ``planned_graphs``: the list of graphs
FOLDER_SUFFIX = ".searches"  # the folder of the graph pages, beside the overview page
MAIN = -1  # the main goal's index, as in the planner's records

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 16px 24px;
  background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 6px; }
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: 3px 8px;
  text-align: left; vertical-align: top; } th { background: #f3f3f3; }
code, pre { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f3f3f3; padding: 8px; white-space: pre-wrap; word-break: break-word; }
.proved { color: #1a7f37; font-weight: 600; } .failed { color: #b42318; font-weight: 600; }
.muted { color: #666; }
"""


def planned_graphs(result: Any) -> dict[str, Any]:
    """The node-link graphs of every search a ``PlannedResult`` ran: ``{"searches": [{"round", "index",
    "graph"}], "direct": graph or None}`` (``index`` -1 is the main goal). Reused subgoals ran none."""
    searches = []
    for round_ in result.rounds:
        outcomes = [*round_.subgoals, *([round_.main] if round_.main is not None else [])]
        for outcome in outcomes:
            if outcome.graph is not None:
                searches.append({"round": round_.number, "index": outcome.index,
                                 "graph": node_link(outcome.graph)})
    direct = result.direct
    return {SEARCHES: searches,
            "direct": None if direct is None or direct.graph is None else node_link(direct.graph)}


def is_planned(graphs: Mapping[str, Any]) -> bool:
    """Whether a record's graph field holds a planned attempt's graphs (else one search's node-link)."""
    return SEARCHES in graphs


def searches_folder(page: Path) -> Path:
    """The folder of the graph pages of the overview page ``page``."""
    return page.with_name(page.stem + FOLDER_SUFFIX)


def search_page_name(round_number: int | None, index: int) -> str:
    """``round1.subgoal2.html``, ``round1.main.html``, or ``direct.html`` (``round_number`` None)."""
    if round_number is None:
        return "direct.html"
    which = "main" if index == MAIN else f"subgoal{index + 1}"
    return f"round{round_number + 1}.{which}.html"


def write_planned_pages(path: Path, *, title: str, planner: Mapping[str, Any], graphs: Mapping[str, Any],
                        status: str, proof_text: str | None = None,
                        shared_library: Path | None = None) -> Path:
    """Write the overview page to ``path`` and a graph page per search into ``searches_folder(path)``
    (replacing what an earlier attempt left there). ``planner`` is the record's ``planner`` field,
    ``status`` the attempt's (proved, unproved). The graph pages inline Cytoscape.js, or with
    ``shared_library`` (a folder) load the one copy there. Returns ``path``.

    Raises ``ValueError`` when a graph is not node-link data, ``OSError`` when a page cannot be written."""
    folder = searches_folder(path)
    if folder.is_dir():
        shutil.rmtree(folder)
    links: dict[tuple[int | None, int], str] = {}
    rounds = {r["round"]: r for r in planner.get("rounds", [])}
    for search in graphs.get(SEARCHES, []):
        round_ = rounds.get(search["round"], {})
        heading = _search_title(round_, search["index"])
        links[(search["round"], search["index"])] = _write_search_page(
            folder, search_page_name(search["round"], search["index"]), search["graph"],
            f"{title} · round {search['round'] + 1} · {heading}", _outcome(round_, search["index"]), path,
            shared_library)
    if graphs.get("direct") is not None:
        links[(None, MAIN)] = _write_search_page(
            folder, search_page_name(None, MAIN), graphs["direct"], f"{title} · direct search after planning",
            planner.get("direct") or {}, path, shared_library)
    write_text_atomic(path, render_overview(title=title, planner=planner, links=links, status=status,
                                            proof_text=proof_text))
    return path


def _write_search_page(folder: Path, name: str, graph: Mapping[str, Any], title: str,
                       outcome: Mapping[str, Any], overview: Path, shared_library: Path | None) -> str:
    """One search's explorer page; returns its link relative to the overview page."""
    model = explorer_model(graph, title=title, stop_reason=outcome.get("stop_reason"),
                           proof=outcome.get("tactics"))
    page = write_page(model, folder / name, library_dir=shared_library,
                      back=(f"../{overview.name}", "the plan"))
    return f"{folder.name}/{page.name}"


def _search_title(round_: Mapping[str, Any], index: int) -> str:
    if index == MAIN:
        return "main goal"
    subgoals = round_.get("plan") or []  # ``Plan.as_dict()``: one dict per subgoal
    outcome = _outcome(round_, index)
    return f"subgoal {index + 1}/{len(subgoals) or '?'}: {outcome.get('text', '')}"


def _outcome(round_: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    if index == MAIN:
        return round_.get("main") or {}
    return next((s for s in round_.get("subgoals", []) if s.get("index") == index), {})


def render_overview(*, title: str, planner: Mapping[str, Any], links: Mapping[tuple[int | None, int], str],
                    status: str, proof_text: str | None = None) -> str:
    """The overview page's HTML: every round's plan with each subgoal's outcome and search page link.
    Every text from the attempt (plans, goals, messages) is escaped."""
    e = html.escape
    stats = planner.get("stats") or {}
    verdict = "proved" if status == "proved" else "failed"
    parts = [f"<h1>{e(title)}</h1>",
             f'<p><span class="{verdict}">{e(status)}</span> · planning ended: '
             f"{e(str(planner.get('stop_reason')))} · {stats.get('rounds', 0)} round(s), "
             f"{stats.get('searches', 0)} searches, {stats.get('planner_calls', 0)} planner call(s)</p>"]
    for round_ in planner.get("rounds", []):
        parts += _round_html(round_, links)
    direct = planner.get("direct")
    if direct is not None:
        link = links.get((None, MAIN))
        name = f'<a href="{e(link, quote=True)}">direct search after planning</a>' if link else \
            "direct search after planning"
        parts.append(f"<h2>{name}</h2><p>{e(str(direct.get('stop_reason')))} after "
                     f"{direct.get('expansions', 0)} expansions</p>")
    if proof_text:
        parts.append(f"<h2>Proof</h2><pre>{e(proof_text)}</pre>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)} · plan'
            f"</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _round_html(round_: Mapping[str, Any], links: Mapping[tuple[int | None, int], str]) -> list[str]:
    e = html.escape
    number = round_["round"]
    parts = [f"<h2>Round {number + 1}</h2>"]
    if round_.get("failure"):
        parts.append(f'<p class="muted">{e(round_["failure"])}</p>')
    plan = round_.get("plan")
    if plan is None:
        return [*parts, "<p>No usable plan.</p>"]
    texts = [s.get("text", "") for s in plan]  # ``Plan.as_dict()``: one dict per subgoal
    rows = ["<tr><th>#</th><th>subgoal</th><th>outcome</th><th>expansions</th><th>proof</th></tr>"]
    for index, text in [*enumerate(texts), (MAIN, "main goal")]:
        rows.append(_row(index, len(texts), text, _outcome(round_, index), links.get((number, index))))
    parts.append("<table>" + "".join(rows) + "</table>")
    verdict = round_.get("verdict")
    if verdict is not None and not verdict.get("ok"):
        messages = "; ".join(verdict.get("messages", []))
        parts.append(f'<p class="failed">assembled proof rejected: {e(messages)}</p>')
    return parts


def _row(index: int, size: int, text: str, outcome: Mapping[str, Any], link: str | None) -> str:
    e = html.escape
    label = "main" if index == MAIN else f"{index + 1}/{size}"
    shown = f"<code>{e(text)}</code>"
    if link:
        shown = f'<a href="{e(link, quote=True)}">{shown}</a>'
    if not outcome:
        return f'<tr><td>{label}</td><td>{shown}</td><td class="muted">not tried</td><td></td><td></td></tr>'
    proved = outcome.get("proved")
    reason = outcome.get("stop_reason", "")
    tactics: Sequence[str] = outcome.get("tactics") or []
    expansions = outcome.get("expansions")
    return (f"<tr><td>{label}</td><td>{shown}</td><td class=\"{'proved' if proved else 'failed'}\">"
            f"{e(str(reason))}</td><td>{'' if expansions is None else expansions}</td>"
            f"<td><code>{e('; '.join(tactics))}</code></td></tr>")
