"""The report's interactive charts, offline: Plotly figures drawn by an inlined plotly.min.js.

Charts are Plotly figure documents (``{"data": [...], "layout": {...}}``) built here as plain
dicts and drawn by ``plotly.min.js``, which is read from the installed ``plotly`` package and
inlined once into the page (:func:`scripts`, with the leaderboard's script of
:mod:`greenvoc.analysis.leaderboard`): the report makes no network request.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from greenvoc.analysis import units
from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import mean_interval
from greenvoc.analysis.caveats import SMALL_N, energy_short
from greenvoc.analysis.leaderboard import LEADERBOARD_JS
from greenvoc.analysis.plots import is_wide, staircase
from greenvoc.analysis.study import ParetoAnalysis

#: Plotly's marker symbols by variant order (the PNGs use the matching matplotlib markers).
SYMBOLS = ("circle", "square", "triangle-up", "diamond", "triangle-down", "cross", "x",
           "star", "hexagon", "triangle-left")
#: matplotlib's tab10, so a family has the same colour in the PNGs and the charts.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#7f7f7f", "#bcbd22", "#17becf")
CONFIG = {"responsive": True, "displaylogo": False, "scrollZoom": False}


def plotly_js() -> str | None:
    """The text of the installed plotly package's ``plotly.min.js``; None without plotly.

    Found without importing plotly (its import is slow and draws nothing here)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def family_colours(points: Sequence[Point]) -> dict[str, str]:
    families = sorted({p.family or "?" for p in points})
    return {f: TAB10[i % 10] for i, f in enumerate(families)}


def variant_symbols(points: Sequence[Point]) -> dict[str, str]:
    variants = sorted({p.variant for p in points}, key=lambda v: (v != "fp32", v))
    return {v: SYMBOLS[i % len(SYMBOLS)] for i, v in enumerate(variants)}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _interval_text(p: Point, col: str, log: bool) -> str:
    ci = mean_interval(p.values.get(col, ()), log=log)
    return "" if ci is None else f" [{ci[0]:.3g}–{ci[1]:.3g}]"


def _errors(points: Sequence[Point], col: str, log: bool) -> dict:
    plus, minus = [], []
    for p in points:
        m, ci = p.get(col), mean_interval(p.values.get(col, ()), log=log)
        plus.append(0.0 if ci is None or m is None else max(0.0, ci[1] - m))
        minus.append(0.0 if ci is None or m is None else max(0.0, m - ci[0]))
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
            "thickness": 1, "width": 3}


def _hover(p: Point, a: ParetoAnalysis, log_x: bool, status: str) -> str:
    q, c = a.quality, a.cost
    return "<br>".join([
        f"<b>{escape(p.label)}</b> ({escape(p.family)}) — {status}",
        f"{escape(q.name)}: {p.get(q.name):.3g}{_interval_text(p, q.name, False)}",
        f"{escape(c.name)}: {p.get(c.name):.3g} {escape(c.unit)}"
        f"{_interval_text(p, c.name, log_x)}",
        f"RTF: {units.cell(p.get('rtf'), 's/s')} · params: {units.params(p.get('params'))} · "
        f"size: {units.size_bytes(p.get('bytes_on_disk'))}",
        f"n = {p.n} utterances · energy {escape(p.energy_label)}",
    ])


@dataclass(frozen=True)
class Chart:
    """One chart: the element id and its Plotly figure document."""

    div_id: str
    figure: dict

    def html(self, height_px: int = 430) -> str:
        return (f'<div id="{self.div_id}" class="chart" style="width:100%;height:{height_px}px" '
                'role="img" aria-label="' + escape(self.figure["layout"]["title"]["text"])
                + '"></div>')

    def script(self) -> str:
        # no "<" inside the script at all: a model name cannot close it
        doc = json.dumps(self.figure, allow_nan=False).replace("<", "\\u003c")
        return (f"(function (f) {{ Plotly.newPlot({json.dumps(self.div_id)}, f.data, f.layout, "
                f"{json.dumps(CONFIG)}); }})({doc});")


def _axis(title: str, log: bool) -> dict:
    return {"title": {"text": title, "font": {"size": 12}}, "type": "log" if log else "linear",
            "zeroline": False, "gridcolor": "#e6e6e6", "automargin": True}


def quality_cost_chart(a: ParetoAnalysis, div_id: str = "chart-quality-cost") -> Chart:
    """Quality vs cost of the ranked models: one trace per (family, variant) (legend toggles),
    the front as a step line with labelled models, the others named on hover."""
    q, c = a.quality, a.cost
    pts = [m.point for m in a.models]
    log = is_wide([p.get(c.name) for p in pts])
    colours, symbols = family_colours(a.points), variant_symbols(a.points)
    status = {m.point.key: m.status for m in a.models}
    on_front = {m.point.key for m in a.front}
    groups: dict[tuple[str, str], list[Point]] = {}
    for p in pts:
        groups.setdefault((p.family or "?", p.variant), []).append(p)
    places = label_places(pts, c.name, q.name, log, on_front)
    data = []
    for (family, variant), g in sorted(groups.items()):
        name = family if len({p.variant for p in pts}) == 1 else f"{family} · {variant}"
        data.append({
            "type": "scatter", "mode": "markers+text", "name": escape(name),
            "x": [p.get(c.name) for p in g], "y": [p.get(q.name) for p in g],
            "text": [("<b>{}</b>" if p.key in on_front else "{}").format(escape(p.label))
                     if places.get(p.key) else "" for p in g],
            "textposition": [places.get(p.key) or "top right" for p in g],
            "textfont": {"size": 11},
            "hovertext": [_hover(p, a, log, status[p.key]) for p in g], "hoverinfo": "text",
            "marker": {"color": colours[family], "symbol": symbols[variant], "size": 11,
                       "line": {"width": 1, "color": "white"}},
            "error_x": _errors(g, c.name, log) | {"color": colours[family]},
            "error_y": _errors(g, q.name, False) | {"color": colours[family]},
        })
    front = sorted(((m.point.get(c.name), m.point.get(q.name)) for m in a.front),
                   key=lambda xy: (xy[0], xy[1] * q.sign))
    if front:
        costs = [p.get(c.name) for p in pts]
        err = _errors(pts, q.name, False)
        lows = [p.get(q.name) - m for p, m in zip(pts, err["arrayminus"], strict=True)]
        highs = [p.get(q.name) + m for p, m in zip(pts, err["array"], strict=True)]
        x_end = max(costs) * 1.4 if log else max(costs) + 0.1 * (max(costs) - min(costs) or 1)
        # from the worst quality edge of the drawn intervals: the line spans the plot
        xs, ys = staircase(front, x_end, min(lows) if q.higher_is_better else max(highs))
        data.insert(0, {"type": "scatter", "mode": "lines", "name": "Pareto front",
                        "x": xs, "y": ys, "hoverinfo": "skip",
                        "line": {"color": "#444", "width": 1.5}})
    n = min((p.n for p in pts), default=0)
    annotations = []
    if pts and n < SMALL_N:
        annotations.append({
            "text": f"n = {n} utterance{'s' if n != 1 else ''}: intervals wide, ranking "
                    "provisional", "xref": "paper", "yref": "paper", "x": 0.01, "y": 0.99,
            "xanchor": "left", "yanchor": "top", "showarrow": False,
            "bgcolor": "#fff4d6", "bordercolor": "#e0a800", "font": {"size": 11,
                                                                       "color": "#8a4b00"}})
    energy = f", {energy_short(pts)}" if c.name.startswith("energy") else ""
    layout = {
        "title": {"text": f"{q.name} vs {c.name}: means and 95 % intervals over "
                          f"{max((p.n for p in pts), default=0)} utterances (hover a point, "
                          "drag to zoom, click the legend to hide)", "font": {"size": 13}},
        "xaxis": _axis(f"{c.label} [{c.unit}] {c.arrow}{energy}{', log' if log else ''}", log),
        "yaxis": _axis(f"{q.label} {q.arrow}", False),
        "margin": {"l": 60, "r": 10, "t": 40, "b": 50}, "hovermode": "closest",
        "legend": {"font": {"size": 11}}, "annotations": annotations,
        "plot_bgcolor": "white", "paper_bgcolor": "white",
    }
    return Chart(div_id, {"data": _clean(data), "layout": layout})


#: The chart's plot area in pixels, as placed at 1366 px (for label placement only).
PLOT_PX = (1000.0, 330.0)
#: Plotly's text positions → (dx, dy) direction of the label box from its point.
_POSITIONS = {"top right": (1, 1), "bottom right": (1, -1), "top left": (-1, 1),
              "bottom left": (-1, -1), "middle right": (1, 0), "middle left": (-1, 0)}


def _box(x: float, y: float, w: float, where: str) -> tuple[float, float, float, float]:
    dx, dy = _POSITIONS[where]
    x0 = x + 6 if dx > 0 else x - 6 - w
    y0 = y + 4 if dy > 0 else y - 18 if dy < 0 else y - 7
    return x0, y0, x0 + w, y0 + 14


def _hits(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_places(points: Sequence[Point], x: str, y: str, log_x: bool,
                 always: set) -> dict[tuple[str, str], str | None]:
    """A text position for each point's label, or None (named on hover only): the models in
    ``always`` (the front) get the free-est position, the others a label only where it
    overlaps no label placed before and no marker (greedy, in an estimate of the plot's
    pixels: 6.5 px per character at 11 px)."""
    def norm(values: list[float], log: bool) -> list[float]:
        v = [math.log10(x) if log else x for x in values]
        lo, hi = min(v), max(v)
        return [(x - lo) / (hi - lo) if hi > lo else 0.5 for x in v]

    if not points:
        return {}
    xs = [0.06 + 0.88 * u for u in norm([p.get(x) for p in points], log_x)]
    ys = [0.08 + 0.84 * u for u in norm([p.get(y) for p in points], False)]
    px = [(u * PLOT_PX[0], v * PLOT_PX[1]) for u, v in zip(xs, ys, strict=True)]
    taken = [(a - 6, b - 6, a + 6, b + 6) for a, b in px]
    out: dict[tuple[str, str], str | None] = {}
    order = sorted(range(len(points)), key=lambda i: (points[i].key not in always, px[i]))
    for i in order:
        w = 6.5 * len(points[i].label)
        best, best_cost = None, None
        for where in _POSITIONS:
            box = _box(*px[i], w, where)
            inside = box[0] >= 0 and box[2] <= PLOT_PX[0] and box[1] >= 0 and \
                box[3] <= PLOT_PX[1]
            cost = sum(_hits(box, t) for t in taken) + (0 if inside else 2)
            if best_cost is None or cost < best_cost:
                best, best_cost = where, cost
        if best_cost == 0 or points[i].key in always:
            out[points[i].key] = best
            taken.append(_box(*px[i], w, best))
        else:
            out[points[i].key] = None
    return out


def time_energy_chart(classes: Mapping[str, Sequence[Point]], energy_col: str,
                      div_id: str = "chart-time-energy") -> Chart | None:
    """Energy per audio second vs RTF of every model (cost-only ones too), one trace per
    hardware class and its time–energy front (both lower is better) as a step line."""
    data = []
    all_pts = [p for pts in classes.values() for p in pts
               if _num(p.get("rtf")) and _num(p.get(energy_col))]
    if not all_pts:
        return None
    log_x = is_wide([p.get("rtf") for p in all_pts])
    log_y = is_wide([p.get(energy_col) for p in all_pts])
    for i, (label, pts) in enumerate(classes.items()):
        pts = [p for p in pts if _num(p.get("rtf")) and _num(p.get(energy_col))]
        if not pts:
            continue
        colour = TAB10[i % 10]
        data.append({
            "type": "scatter", "mode": "markers", "name": escape(label),
            "x": [p.get("rtf") for p in pts], "y": [p.get(energy_col) for p in pts],
            "hovertext": [f"<b>{escape(p.label)}</b> on {escape(label)}<br>RTF "
                          f"{p.get('rtf'):.3g}<br>{p.get(energy_col):.3g} J/s "
                          f"({escape(p.energy_label)})<br>n = {p.n}" for p in pts],
            "hoverinfo": "text", "marker": {"color": colour, "size": 9}})
        front = _time_energy_front(pts, energy_col)
        data.append({"type": "scatter", "mode": "lines", "name": f"front on {escape(label)}",
                     "x": [p.get("rtf") for p in front],
                     "y": [p.get(energy_col) for p in front], "hoverinfo": "skip",
                     "line": {"shape": "hv", "color": colour, "width": 1, "dash": "dot"}})
    layout = {
        "title": {"text": f"time vs energy per hardware class, energy {energy_short(all_pts)}"
                          " (both lower is better; every model, cost-only ones too)",
                  "font": {"size": 13}},
        "xaxis": _axis("real-time factor [compute s per audio s] ↓" + (", log" if log_x
                                                                        else ""), log_x),
        "yaxis": _axis("energy per audio second [J/s] ↓" + (", log" if log_y else ""), log_y),
        "margin": {"l": 60, "r": 10, "t": 40, "b": 50}, "hovermode": "closest",
        "plot_bgcolor": "white", "paper_bgcolor": "white",
    }
    return Chart(div_id, {"data": _clean(data), "layout": layout})


def _time_energy_front(points: Sequence[Point], energy_col: str) -> list[Point]:
    """Points not dominated in (RTF, energy), by RTF."""
    from greenvoc.analysis.pareto import pareto_front

    return sorted(pareto_front(points, ("rtf", energy_col)), key=lambda p: p.get("rtf"))


def _clean(obj):
    """NaN/inf → None (JSON has no NaN; Plotly leaves a gap)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def scripts(charts: Sequence[Chart], js: str | None) -> str:
    """The page's inline scripts: plotly.min.js once, the charts, the leaderboard."""
    out = []
    if js and charts:
        out.append("<script>" + js.replace("</script", "<\\/script") + "</script>")
        out.append("<script>" + "\n".join(c.script() for c in charts) + "</script>")
    out.append("<script>" + LEADERBOARD_JS + "</script>")
    return "".join(out)
