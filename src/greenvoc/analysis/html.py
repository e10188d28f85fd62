"""Tiny HTML builders for the report: every piece of text goes through :func:`html.escape`."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;color:#222;line-height:1.4;padding:0 1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.85rem}
th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left}
.warn{background:#fff4d6;border-left:4px solid #e0a800;padding:0.5rem 1rem;margin:0.5rem 0}
figure{margin:1rem 0} img{max-width:100%;border:1px solid #ddd}
pre{background:#f7f7f7;padding:0.75rem;overflow-x:auto;font-size:0.8rem}
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
    return tag("table", head + body)


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


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{text('h1', title)}{body}</body></html>\n"
    )
