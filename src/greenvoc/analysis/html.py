"""Tiny HTML builders for the report: every piece of text goes through :func:`html.escape`."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1rem auto;
max-width:1240px;color:#222;line-height:1.4;padding:0 1rem;overflow-wrap:break-word}
h1{font-size:1.45rem;margin:0.3rem 0} h2{font-size:1.2rem;margin:1.4rem 0 0.4rem}
h3{font-size:1rem}
.tbl{max-width:100%;overflow-x:auto;margin:0.4rem 0 1.2rem}
table{border-collapse:collapse;font-size:0.85rem}
th,td{border:1px solid #ccc;padding:0.25rem 0.45rem;text-align:right;vertical-align:top}
th{background:#f3f3f3;font-weight:600} td.l,th.l{text-align:left}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:0.5rem 1rem;margin:0.5rem 0}
.sub{color:#555;margin:0 0 0.5rem}
figure{margin:1rem 0} img{max-width:100%;height:auto;border:1px solid #ddd}
pre{background:#f7f7f7;padding:0.75rem;overflow-x:auto;font-size:0.8rem;white-space:pre-wrap;
word-break:break-word}
code{background:#f3f3f3;padding:0 0.2rem}
"""


def fmt(value, digits: int = 3) -> str:
    """A number for a table cell: 3 significant digits, ``—`` for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def tag(name: str, body: str, cls: str | None = None) -> str:
    """``<name>body</name>``; ``body`` must already be escaped HTML."""
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<{name}{attr}>{body}</{name}>"


def text(name: str, content: object, cls: str | None = None) -> str:
    """An element holding escaped plain text."""
    return tag(name, escape(str(content)), cls)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> str:
    """A table of escaped cells; the first ``left`` columns are left-aligned text."""
    def cells(values, kind):
        return "".join(
            text(kind, v if isinstance(v, str) else fmt(v), "l" if i < left else None)
            for i, v in enumerate(values)
        )

    head = tag("tr", cells(header, "th"))
    body = "".join(tag("tr", cells(r, "td")) for r in rows)
    # a wide table scrolls inside its box, never the page
    return tag("div", tag("table", head + body), "tbl")


def warning(message: str) -> str:
    return text("div", message, "warn")


def figure(png: Path, caption: str, embed: bool = True) -> str:
    """An ``<img>`` of ``png``: inline base64 (self-contained) or a relative link."""
    if embed:
        src = "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")
    else:
        src = escape(Path(png).name)
    return tag("figure", f'<img src="{src}" alt="{escape(caption)}">'
               + text("figcaption", caption))


def pre_json(document: object) -> str:
    return text("pre", json.dumps(document, indent=2, sort_keys=True, default=str))


def page(title: str, body: str, *, head: str = "", scripts: str = "") -> str:
    """A whole document: ``head`` (extra ``<style>``) and ``scripts`` (inline ``<script>``
    elements, placed last) must already be HTML."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>{head}</head>"
        f"<body>{text('h1', title)}{body}{scripts}</body></html>\n"
    )
