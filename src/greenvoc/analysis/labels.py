"""Point labels that do not overlap each other or the markers (matplotlib, greedy placement).

Each label tries offsets around its point, nearest first, and takes the first whose box
overlaps no label placed before it, no marker and stays inside the axes; when every offset
collides, the least-overlapping one wins. Labels placed away from the first ring get a thin
leader line. Greedy and deterministic: the same figure always gets the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence

#: (dx, dy) offsets in points, nearest ring first; alignment follows the side.
_RING = ((5, 4), (5, -11), (-5, 4), (-5, -11), (0, 9), (0, -15), (9, -3), (-9, -3))
_RINGS = (1.0, 2.2, 3.6, 5.2)
#: Half-size in pixels of the box kept free around every marker.
MARKER_PAD_PX = 5.0


def _align(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    va = "bottom" if dy > 0 else "top" if dy < -5 else "center"
    return ha, va


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax, xy: Sequence[tuple[float, float]], texts: Sequence[str], *,
                 fontsize: float = 7.0, bold: Sequence[bool] = ()) -> list:
    """Annotate ``xy`` (data coordinates) with ``texts``; returns the annotations.

    Call after the axes' scales and limits are final and the figure is laid out (the
    placement is done in display coordinates).
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    markers = [Bbox.from_extents(x - MARKER_PAD_PX, y - MARKER_PAD_PX, x + MARKER_PAD_PX,
                                 y + MARKER_PAD_PX) for x, y in (to_px(p) for p in xy)]
    frame = ax.get_window_extent(renderer)
    placed, out = [], []
    order = sorted(range(len(xy)), key=lambda i: (xy[i][0], xy[i][1]))
    for i in order:
        best = None
        for r, scale in enumerate(_RINGS):
            for dx, dy in _RING:
                off = (dx * scale, dy * scale)
                ha, va = _align(*off)
                ann = ax.annotate(texts[i], xy[i], xytext=off, textcoords="offset points",
                                  ha=ha, va=va, fontsize=fontsize,
                                  fontweight="bold" if i < len(bold) and bold[i] else "normal")
                box = ann.get_window_extent(renderer)
                cost = sum(_overlap(box, b) for b in placed) + sum(
                    _overlap(box, m) for m in markers)
                outside = max(0.0, frame.x0 - box.x0) + max(0.0, box.x1 - frame.x1) + max(
                    0.0, frame.y0 - box.y0) + max(0.0, box.y1 - frame.y1)
                cost += outside * box.height * 4
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, ann, box, r)
                else:
                    ann.remove()
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, ann, box, ring = best
        if ring > 0:
            ax.annotate("", xy[i], xytext=ann.xyann, textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.5,
                                    "shrinkA": 0, "shrinkB": 2})
        placed.append(box)
        out.append(ann)
    return out
