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
from greenvoc.analysis.by_hardware import HardwareComparison
from greenvoc.analysis.study import ParetoAnalysis

DPI = 110


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


def _log_if_wide(ax, values: Sequence[float], axis: str = "x") -> None:
    pos = [v for v in values if v and v > 0]
    if pos and len(pos) == len(values) and max(pos) / min(pos) > 30:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _scatter(ax, points: Sequence[Point], x: str, y: str, colours: dict) -> None:
    seen: set[str] = set()
    for p in points:
        fam = p.family or "?"
        ax.errorbar(p.get(x), p.get(y), xerr=_ci(p, x), yerr=_ci(p, y), fmt="o", ms=6,
                    color=colours[fam], ecolor=colours[fam], elinewidth=1, capsize=2,
                    label=None if fam in seen else fam)
        seen.add(fam)
        ax.annotate(p.label, (p.get(x), p.get(y)), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)


def save_figure(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path


def plot_quality_vs_cost(analysis: ParetoAnalysis, path: Path) -> Path:
    """Quality (y) vs cost (x) of the ranked models, the front drawn as a staircase."""
    plt = pyplot()
    q, c = analysis.quality, analysis.cost
    pts = [m.point for m in analysis.models]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    _scatter(ax, pts, c.name, q.name, family_colours(analysis.points))
    front = sorted((m.point for m in analysis.front), key=lambda p: p.get(c.name))
    if front:
        ax.step([p.get(c.name) for p in front], [p.get(q.name) for p in front], where="post",
                color="0.3", lw=1.2, ls="--", label="Pareto front", zorder=0)
    _log_if_wide(ax, [p.get(c.name) for p in pts])
    ax.set_xlabel(f"{c.label} [{c.unit}] {c.arrow}")
    ax.set_ylabel(f"{q.label} [{q.unit}] {q.arrow}".replace(" []", ""))
    ax.set_title(f"{q.name} vs {c.name} (error bars: 95 % CI over utterances)")
    ax.grid(alpha=0.3)
    if pts:
        ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)


def size_column(points: Sequence[Point]) -> str:
    """``bytes_on_disk`` when every point has it, else ``params``."""
    ok = all(p.get("bytes_on_disk") is not None and math.isfinite(p.get("bytes_on_disk"))
             for p in points)
    return "bytes_on_disk" if ok else "params"


def plot_quality_vs_size(analysis: ParetoAnalysis, path: Path) -> Path:
    """Quality vs model size (bytes on disk, or parameters where sizes are missing)."""
    plt = pyplot()
    pts = [m.point for m in analysis.models] + analysis.unranked
    col = size_column(pts)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    _scatter(ax, pts, col, analysis.quality.name, family_colours(analysis.points))
    _log_if_wide(ax, [p.get(col) for p in pts])
    ax.set_xlabel(f"{col} ↓")
    ax.set_ylabel(f"{analysis.quality.name} {analysis.quality.arrow}")
    ax.set_title(f"{analysis.quality.name} vs {col}")
    ax.grid(alpha=0.3)
    if pts:
        ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)


def plot_energy_by_family(points: Sequence[Point], path: Path,
                          column: str = "energy_j_per_audio_s") -> Path:
    """One bar per (model, variant), grouped and coloured by family; estimated energy hatched."""
    plt = pyplot()
    pts = sorted((p for p in points if p.get(column) is not None and math.isfinite(p.get(column))),
                 key=lambda p: (p.family, p.get(column)))
    colours = family_colours(points)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(pts) + 2), 5))
    seen: set[str] = set()
    for i, p in enumerate(pts):
        fam = p.family or "?"
        ax.bar(i, p.get(column), yerr=_ci(p, column), color=colours[fam], capsize=2,
               hatch="" if p.energy_kind == "measured" else "//", edgecolor="0.2",
               label=None if fam in seen else fam)
        seen.add(fam)
    ax.set_xticks(range(len(pts)), [p.label for p in pts], rotation=60, ha="right", fontsize=7)
    _log_if_wide(ax, [p.get(column) for p in pts], axis="y")
    ax.set_ylabel(f"{column} [J/s]")
    ax.set_title("energy per audio second by family (hatched: estimated or mixed)")
    ax.grid(axis="y", alpha=0.3)
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
            ax.errorbar(*xy, xerr=_ci(p, c.name), yerr=_ci(p, q.name), fmt="o", ms=7,
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
