"""``report.html``: the sweep's report as one page to open in a browser, beside ``report.md``: the pass
rates, the budget plot, and every theorem with a link to its search-graph explorer page."""

from __future__ import annotations

import html
from typing import Any

_STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f}
table{border-collapse:collapse;margin:8px 0 18px}td,th{border:1px solid #ddd;padding:3px 9px;text-align:left}
th{background:#f4f4f4}.proved{color:#1a7f37}.unproved,.error{color:#b42318}.invalid{color:#777}
img{max-width:100%}"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(summary: Any, title: str, plot_name: str) -> str:
    """The page of a ``SweepSummary`` (its theorems' ``page`` fields give the links)."""
    e = html.escape
    parts = [f"<h1>Sweep: {e(title)}</h1>",
             f"<p>{e(summary.headline())}</p>",
             *([f"<p>{e(summary.uncounted.sentence())}</p>"] if summary.uncounted else []),
             _table(["split", "theorems", "valid", "proved", "pass rate"],
                    [[e(split or "-"), str(row["total"]), str(row["valid"]), str(row["proved"]),
                      f"{row['pass_rate']:.1%}"] for split, row in summary.by_split.items()]),
             _table(["attempts", "pass rate"],
                    [[f"pass@{k}", f"{rate:.1%}"] for k, rate in summary.pass_at.items()])]
    if summary.cache:
        c = summary.cache
        parts.append(f"<p>Shared proof cache: searches completed {c['search_hits']} states from cached "
                     f"proofs and skipped {c['search_skips']} known failures; the cache holds {c['proofs']} "
                     f"proved and {c['failures']} failed goals.</p>")
    parts.append(f'<p><img src="{e(plot_name, quote=True)}" alt="theorems solved against the budget"></p>')
    rows = []
    for t in summary.theorems:
        name = e(t.name)
        if t.page:
            name = f'<a href="{e(t.page, quote=True)}">{name}</a>'
        rows.append([name, e(t.split), f'<span class="{e(t.status, quote=True)}">{e(t.status)}</span>',
                     str(t.attempts), str(t.expansions), f"{t.seconds:.1f}", e(t.message or "")])
    parts.append(_table(["theorem (search graph)", "split", "status", "attempts", "expansions", "seconds",
                         "message"], rows))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
