"""The report's figures, drawn with matplotlib's Agg backend into PNG files.

Every function takes what to draw and a path, writes one PNG and returns the path. Points are
coloured by family (by hardware class in :func:`plot_across_hardware`); error bars are the
95 % Student-t CIs over utterances; estimated energy is hatched where bars show energy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import mean_interval
from greenvoc.analysis.by_hardware import HardwareComparison
from greenvoc.analysis.caveats import SMALL_N, energy_short
from greenvoc.analysis.labels import place_labels
from greenvoc.analysis.study import ParetoAnalysis

DPI = 110
#: A cost axis is logarithmic when its values span more than this factor.
LOG_SPAN = 10.0


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def family_colours(points: Sequence[Point]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    families = sorted({p.family or "?" for p in points})  # same family, same colour everywhere
    return {f: cmap(i % 10) for i, f in enumerate(families)}


def _ci(p: Point, col: str) -> float:
    v = p.ci95.get(col)
    return 0.0 if v is None or not math.isfinite(v) else float(v)


#: Markers by variant, in sorted variant order (fp32 first when present).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")


def variant_markers(points: Sequence[Point]) -> dict[str, str]:
    variants = sorted({p.variant for p in points}, key=lambda v: (v != "fp32", v))
    return {v: MARKERS[i % len(MARKERS)] for i, v in enumerate(variants)}


def is_wide(values: Sequence[float | None], factor: float = LOG_SPAN) -> bool:
    """True when every value is positive and they span more than ``factor``×: a log axis."""
    xs = [v for v in values if v is not None and math.isfinite(v)]
    return bool(xs) and min(xs) > 0 and max(xs) / min(xs) > factor


def _plain_tick(value: float, _pos=None) -> str:
    return f"{value:g}"


def _minor_tick(value: float, _pos=None) -> str:
    """Label the 2× and 5× minor ticks of a decade only: the others would collide."""
    lead = f"{value:.0e}"[0]
    return f"{value:g}" if lead in "25" else ""


def _log_if_wide(ax, values: Sequence[float], axis: str = "x") -> bool:
    """A log scale with plain tick labels (0.5, 2, 10, not 5×10⁻¹) when ``values`` are wide."""
    from matplotlib.ticker import FuncFormatter

    wide = is_wide(values)
    if wide:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        scale_axis = ax.xaxis if axis == "x" else ax.yaxis
        scale_axis.set_major_formatter(FuncFormatter(_plain_tick))
        scale_axis.set_minor_formatter(FuncFormatter(_minor_tick))
    return wide


def error_bars(points: Sequence[Point], col: str, log: bool) -> list[list[float]]:
    """``[[below...], [above...]]`` distances to the 95 % bootstrap percentile interval of each
    point's mean (:func:`~greenvoc.analysis.bootstrap.mean_interval`, on the log scale when the
    axis is log); 0 where a point has fewer than 2 values. Never reaches below the data: a
    positive cost keeps a positive interval."""
    below, above = [], []
    for p in points:
        m = p.get(col)
        ci = mean_interval(p.values.get(col, ()), log=log) if m is not None else None
        below.append(0.0 if ci is None else max(0.0, m - ci[0]))
        above.append(0.0 if ci is None else max(0.0, ci[1] - m))
    return [below, above]


def _scatter(ax, points: Sequence[Point], x: str, y: str, colours: dict, markers: dict,
             log_x: bool = False) -> None:
    """Markers with their percentile intervals; colour = family, marker = variant."""
    xerr, yerr = error_bars(points, x, log_x), error_bars(points, y, False)
    for i, p in enumerate(points):
        colour = colours[p.family or "?"]
        ax.errorbar(p.get(x), p.get(y), xerr=[[xerr[0][i]], [xerr[1][i]]],
                    yerr=[[yerr[0][i]], [yerr[1][i]]], fmt=markers[p.variant], ms=7,
                    color=colour, ecolor=colour, elinewidth=0.9, capsize=2, alpha=0.95,
                    mec="white" if p.energy_kind == "measured" else colour, mew=0.6)


def _legend(ax, points: Sequence[Point], colours: dict, markers: dict,
            front: bool = False) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=colours[f], label=f)
               for f in sorted({p.family or "?" for p in points})]
    if len({p.variant for p in points}) > 1:
        handles += [Line2D([], [], ls="", marker=markers[v], color="0.35", label=f"variant {v}")
                    for v in sorted({p.variant for p in points})]
    if front:
        handles.append(Line2D([], [], color="0.25", lw=1.3, label="Pareto front"))
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False, borderaxespad=0)


def small_n_warning(ax, points: Sequence[Point]) -> str | None:
    """Draws and returns a warning on the axes when a point rests on fewer than 5 utterances."""
    ns = [p.n for p in points if p.n]
    if not ns or min(ns) >= SMALL_N:
        return None
    text = (f"n = {min(ns)} utterance{'s' if min(ns) != 1 else ''}"
            f"{f' (up to {max(ns)})' if max(ns) != min(ns) else ''}: intervals are wide, "
            "the ranking is provisional")
    ax.text(0.01, 0.99, text, transform=ax.transAxes, ha="left", va="top", fontsize=8,
            color="#8a4b00", bbox={"boxstyle": "round,pad=0.3", "fc": "#fff4d6",
                                   "ec": "#e0a800", "lw": 0.8}, zorder=5)
    return text


def save_figure(fig, path: Path, layout: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path


def cost_axis_label(cost, points: Sequence[Point], log: bool) -> str:
    """``energy per audio second [J/s] ↓, estimated (TDP × CPU time), log scale``."""
    label = f"{cost.label} [{cost.unit}] {cost.arrow}"
    if cost.name.startswith("energy"):
        label += f", {energy_short(points)}"
    return label + (", log scale" if log else "")


def staircase(front: Sequence[tuple[float, float]], x_end: float, y_worst: float
              ) -> tuple[list[float], list[float]]:
    """Vertices of the front as a step line: up from the worst quality ``y_worst`` at the
    cheapest front model, then at each model right along its quality and up (or down) to the
    next one's, finally right to ``x_end``. ``front``: (cost, quality) sorted by cost. What
    lies right of and below (worse than) the line is dominated; a single model still draws."""
    xs, ys = [front[0][0]], [y_worst]
    for (x, y), nxt in zip(front, [*front[1:], None], strict=True):
        xs.append(x)
        ys.append(y)
        xs.append(nxt[0] if nxt else x_end)
        ys.append(y)
    return xs, ys


def _front_line(ax, analysis: ParetoAnalysis) -> None:
    """:func:`staircase` from the axes' worst quality edge to its right edge (limits kept)."""
    q, c = analysis.quality, analysis.cost
    front = sorted(((m.point.get(c.name), m.point.get(q.name)) for m in analysis.front),
                   key=lambda xy: (xy[0], xy[1] * q.sign))
    if not front:
        return
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    xs, ys = staircase(front, xlim[1], ylim[0] if q.higher_is_better else ylim[1])
    ax.plot(xs, ys, color="0.25", lw=1.3, zorder=1, gid="pareto-front")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def plot_quality_vs_cost(analysis: ParetoAnalysis, path: Path) -> Path:
    """:func:`draw_quality_vs_cost` saved to ``path``."""
    return save_figure(draw_quality_vs_cost(analysis), path, layout=not analysis.models)


def draw_quality_vs_cost(analysis: ParetoAnalysis):
    """Quality (y) vs cost (x) of the ranked models: the front as a step line, colour by family,
    marker by variant, 95 % bootstrap percentile intervals, a log cost axis when costs span more
    than 10×, provenance of the energy in the axis label, labels that do not overlap, and a
    warning on the figure when a model rests on fewer than 5 utterances. Returns the open
    figure (laid out: save it without ``tight_layout``)."""
    plt = pyplot()
    q, c = analysis.quality, analysis.cost
    pts = [m.point for m in analysis.models]
    colours, markers = family_colours(analysis.points), variant_markers(analysis.points)
    fig, ax = plt.subplots(figsize=(9, 5.2))
    log = _log_if_wide(ax, [p.get(c.name) for p in pts])
    _scatter(ax, pts, c.name, q.name, colours, markers, log)
    ax.set_xlabel(cost_axis_label(c, pts, log))
    ax.set_ylabel(f"{q.label} [{q.unit}] {q.arrow}".replace(" []", ""))
    n = max((p.n for p in pts), default=0)
    ax.set_title(f"{q.name} vs {c.name}: means and 95 % bootstrap intervals over "
                 f"{n} utterance{'s' if n != 1 else ''}", fontsize=10)
    ax.grid(alpha=0.3, which="both" if log else "major")
    small_n_warning(ax, pts)
    if pts:
        _legend(ax, pts, colours, markers, front=bool(analysis.front))
        ax.margins(x=0.12, y=0.15)
        _front_line(ax, analysis)
        fig.tight_layout()
        on_front = {m.point.key for m in analysis.front}
        place_labels(ax, [(p.get(c.name), p.get(q.name)) for p in pts],
                     [p.label for p in pts], bold=[p.key in on_front for p in pts])
    return fig


def size_column(points: Sequence[Point]) -> str:
    """``bytes_on_disk`` when every point has it, else ``params``."""
    ok = all(p.get("bytes_on_disk") is not None and math.isfinite(p.get("bytes_on_disk"))
             for p in points)
    return "bytes_on_disk" if ok else "params"


def plot_quality_vs_size(analysis: ParetoAnalysis, path: Path) -> Path:
    """Quality vs model size (bytes on disk, or parameters where sizes are missing); the
    size axis in human units (MB, M params), log when sizes span more than 10×."""
    from matplotlib.ticker import EngFormatter, NullFormatter

    plt = pyplot()
    pts = [m.point for m in analysis.models] + analysis.unranked
    col = size_column(pts)
    colours, markers = family_colours(analysis.points), variant_markers(analysis.points)
    fig, ax = plt.subplots(figsize=(9, 5.2))
    log = _log_if_wide(ax, [p.get(col) for p in pts])
    _scatter(ax, pts, col, analysis.quality.name, colours, markers, log)
    ax.xaxis.set_major_formatter(EngFormatter(unit="B" if col == "bytes_on_disk" else ""))
    ax.xaxis.set_minor_formatter(NullFormatter())
    what = "size on disk" if col == "bytes_on_disk" else "parameters"
    ax.set_xlabel(f"{what} ↓" + (", log scale" if log else ""))
    ax.set_ylabel(f"{analysis.quality.name} {analysis.quality.arrow}")
    ax.set_title(f"{analysis.quality.name} vs {what}", fontsize=10)
    ax.grid(alpha=0.3, which="both" if log else "major")
    small_n_warning(ax, pts)
    if pts:
        _legend(ax, pts, colours, markers)
        ax.margins(x=0.12, y=0.15)
        fig.tight_layout()
        place_labels(ax, [(p.get(col), p.get(analysis.quality.name)) for p in pts],
                     [p.label for p in pts])
    return save_figure(fig, path, layout=not pts)


def plot_energy_by_family(points: Sequence[Point], path: Path,
                          column: str = "energy_j_per_audio_s") -> Path:
    """One bar per (model, variant), grouped and coloured by family; estimated energy hatched;
    95 % bootstrap percentile intervals (none for a model measured on one utterance); a log
    axis when the bars span more than 10×; the energy's provenance in the axis label."""
    plt = pyplot()
    pts = sorted((p for p in points if p.get(column) is not None and math.isfinite(p.get(column))),
                 key=lambda p: (p.family, p.get(column)))
    colours = family_colours(points)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(pts) + 2), 5))
    log = _log_if_wide(ax, [p.get(column) for p in pts], axis="y")
    err = error_bars(pts, column, log)
    seen: set[str] = set()
    for i, p in enumerate(pts):
        fam = p.family or "?"
        has_ci = err[0][i] > 0 or err[1][i] > 0
        ax.bar(i, p.get(column), yerr=[[err[0][i]], [err[1][i]]] if has_ci else None,
               color=colours[fam], capsize=2,
               hatch="" if p.energy_kind == "measured" else "//", edgecolor="0.2",
               label=None if fam in seen else fam)
        seen.add(fam)
    ax.set_xticks(range(len(pts)), [p.label for p in pts], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"energy per audio second [J/s], {energy_short(pts)}"
                  + (", log scale" if log else ""), fontsize=8)
    ax.set_title("energy per audio second by family\n(hatched: estimated or mixed; no "
                 "interval: one utterance)", fontsize=9)
    ax.grid(axis="y", alpha=0.3, which="both" if log else "major")
    if pts:
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def _positive(p: Point, x: str, y: str) -> bool:
    vx, vy = p.get(x), p.get(y)
    return vx is not None and vy is not None and math.isfinite(vy) and math.isfinite(vx) \
        and vx > 0


def plot_across_hardware(comparison: HardwareComparison, path: Path) -> Path:
    """Quality (y) vs cost (x, log) of the ranked models of every hardware class, one colour per
    class; the same model on several classes joined by a grey line; hollow markers where the
    energy was estimated (or mixed); each class's front dashed in its colour."""
    from matplotlib import colormaps

    plt = pyplot()
    q, c = comparison.quality, comparison.cost
    cmap = colormaps["tab10"]
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    where: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i, k in enumerate(comparison.classes):
        colour = cmap(i % 10)
        pts = [m.point for m in k.analysis.models if _positive(m.point, c.name, q.name)]
        for j, p in enumerate(pts):
            xy = (p.get(c.name), p.get(q.name))
            where.setdefault(p.key, []).append(xy)
            # a log axis: the percentile interval, which stays positive (t-intervals do not)
            ax.errorbar(*xy, xerr=error_bars([p], c.name, True), yerr=_ci(p, q.name), fmt="o",
                        ms=7,
                        color=colour, mfc=colour if p.energy_kind == "measured" else "none",
                        elinewidth=1, capsize=2,
                        label=f"{k.label} — {k.energy_label}" if j == 0 else None)
        front = sorted((m.point for m in k.analysis.front if _positive(m.point, c.name, q.name)),
                       key=lambda p: p.get(c.name))
        if len(front) > 1:
            ax.step([p.get(c.name) for p in front], [p.get(q.name) for p in front],
                    where="post", color=colour, lw=1, ls="--", zorder=0)
    for (model, variant), xys in where.items():
        if len(xys) > 1:
            ax.plot(*zip(*xys, strict=True), color="0.6", lw=0.8, zorder=0)
        ax.annotate(f"{model}/{variant}", xys[0], textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    if where:
        ax.set_xscale("log")
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel(f"{c.label} [{c.unit}] {c.arrow} (log)")
    ax.set_ylabel(f"{q.label} [{q.unit}] {q.arrow}".replace(" []", ""))
    ax.set_title(f"{q.name} vs {c.name} by hardware class (hollow: estimated energy; "
                 "grey: same model)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)
