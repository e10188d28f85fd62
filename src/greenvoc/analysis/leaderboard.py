"""The report's leaderboard: every model in one table, sortable and filterable, offline.

An HTML table whose cells carry their sort value (``data-v``) and whose rows carry the filter
fields (``data-family``, ``data-variant``, ``data-hardware``, ``data-weights``); a few lines of
inline JavaScript (:data:`LEADERBOARD_JS`) sort on a header click (or Enter) and filter on the
selects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from greenvoc.analysis import html as h

LEADERBOARD_JS = """
(function () {
  var table = document.getElementById('leaderboard');
  if (!table) return;
  var body = table.tBodies[0], count = document.getElementById('leaderboard-count');
  var selects = document.querySelectorAll('select[data-filter]');
  function value(row, i) {
    var v = row.cells[i].getAttribute('data-v') || '';
    return v !== '' && !isNaN(+v) ? +v : v.toLowerCase();
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (o) {
        o.removeAttribute('aria-sort');
      });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, i), y = value(b, i);
        if (x === y) return 0;
        if (x === '') return 1;
        if (y === '') return -1;
        return (x < y ? -1 : 1) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
  });
  function filter() {
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var ok = Array.prototype.every.call(selects, function (s) {
        return !s.value || row.getAttribute('data-' + s.getAttribute('data-filter')) === s.value;
      });
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = shown + ' of ' + body.rows.length + ' models shown';
  }
  Array.prototype.forEach.call(selects, function (s) { s.addEventListener('change', filter); });
  filter();
})();
"""

LEADERBOARD_CSS = """<style>
#leaderboard th{cursor:pointer;user-select:none}
#leaderboard{font-size:0.8rem} #leaderboard th,#leaderboard td{padding:0.2rem 0.35rem}
#leaderboard td:not(.l){white-space:nowrap} .ci{display:block;font-size:0.72rem;color:#666}
#decision-table td:nth-child(n+3):not(:last-child){white-space:nowrap}
.caveat{font-size:0.92rem;margin:0.3rem 0}
#leaderboard th[aria-sort=ascending]::after{content:" ▲"}
#leaderboard th[aria-sort=descending]::after{content:" ▼"}
.filters{display:flex;flex-wrap:wrap;gap:0.4rem 1rem;align-items:center;margin:0.3rem 0}
.filters label{font-size:0.85rem} .chart{margin:0.2rem 0 0.6rem}
</style>"""


LEFT = ' class="l"'


@dataclass(frozen=True)
class Column:
    """A leaderboard column: header text, and per point the cell text and its sort value."""

    header: str
    text: object
    sort: object = None
    left: bool = False
    #: a second, smaller line under the value (its interval)
    detail: str = ""


def leaderboard(rows: Sequence[Mapping[str, Column]], filters: Sequence[str]) -> str:
    """The table (``id="leaderboard"``) with one select per filter field (``rows``' columns
    named in ``filters``, also set as ``data-<field>`` attributes of each row)."""
    if not rows:
        return h.text("p", "No model to list.")
    keys = list(rows[0])
    head = "".join(h.text("th", rows[0][k].header, "l" if rows[0][k].left else None)
                   for k in keys)
    body = []
    for r in rows:
        attrs = "".join(f' data-{f}="{escape(str(r[f].text))}"' for f in filters)
        cells = "".join(
            f'<td{LEFT if r[k].left else ""} data-v="{escape(str(_sort(r[k])))}">'
            f"{escape(str(r[k].text))}{_detail(r[k])}</td>" for k in keys)
        body.append(f"<tr{attrs}>{cells}</tr>")
    selects = []
    for f in filters:
        values = sorted({str(r[f].text) for r in rows})
        options = '<option value="">all</option>' + "".join(
            f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        selects.append(f'<label>{escape(rows[0][f].header)} <select data-filter="{f}" '
                       f'aria-label="filter by {escape(f)}">{options}</select></label>')
    return (f'<div class="filters">{"".join(selects)}<span id="leaderboard-count"></span></div>'
            f'<div class="tbl"><table id="leaderboard"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _detail(col: Column) -> str:
    return f'<span class="ci">{escape(col.detail)}</span>' if col.detail else ""


def _sort(col: Column) -> object:
    v = col.text if col.sort is None else col.sort
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    return "" if v is None else v
