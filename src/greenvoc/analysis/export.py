"""Paper-ready tables: energy next to quality, as LaTeX (``tabular``) or Markdown.

Columns: model, variant, quality mean ± Student-t 95 % half-width, energy (or the cost column)
per audio second with its 95 % bootstrap percentile interval (positive), RTF, parameters, size
on disk, hardware. Whether the energy was measured (which counter) or estimated is said once, in
the column header; a table mixing both marks each estimated row. The LaTeX uses only
``\\hline`` and core commands (no package beyond LaTeX itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenvoc.analysis import units
from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import mean_interval
from greenvoc.analysis.caveats import energy_short
from greenvoc.analysis.study import ParetoAnalysis

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "–": "--", "—": "---", "×": r"$\times$", "±": r"$\pm$", "↑": r"$\uparrow$",
    "↓": r"$\downarrow$", "≥": r"$\geq$", "≤": r"$\leq$", "µ": r"$\mu$", "†": r"\dag{}",
}


def latex_escape(text: str) -> str:
    """Plain text → LaTeX that prints it (specials escaped, a few symbols as math)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


@dataclass(frozen=True)
class PaperTable:
    """Header and rows of text cells (plain text, escaped per format), and the notes under it."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str


def _pm(p: Point, col: str) -> str:
    m, ci = p.get(col), p.ci95.get(col)
    if m is None or m != m:
        return "—"
    return units.si(m) + (f" ± {ci:.2g}" if ci is not None and ci == ci else "")


def _interval(p: Point, col: str) -> str:
    m = p.get(col)
    if m is None or m != m:
        return "—"
    ci = mean_interval(p.values.get(col, ()), log=True)
    return units.si(m) + (f" [{units.si(ci[0])}, {units.si(ci[1])}]" if ci else "")


def paper_table(a: ParetoAnalysis, hardware: Mapping[tuple[str, str], str] | None = None,
                run: object = None) -> PaperTable:
    """The ranked models (best rank, then cheapest), then the unranked and cost-only ones."""
    q, c = a.quality, a.cost
    points = a.points
    energy = c.name.startswith("energy")
    kinds = {p.energy_kind for p in points} - {"none"}
    mixed = energy and len(kinds) > 1
    how = f", {energy_short(points)}" if energy else ""
    header = ("model", "variant", f"{q.name} {q.arrow} (± 95 % CI)",
              f"{c.label} [{c.unit}] {c.arrow} [95 % CI]{how}", "RTF", "params", "size",
              "hardware")
    rows = []
    for p in points:
        mark = " †" if mixed and p.energy_kind != "measured" else ""
        rows.append((p.model, p.variant, _pm(p, q.name) if p.has_weights else "— (no weights)",
                     _interval(p, c.name) + mark, units.cell(p.get("rtf"), "s/s"),
                     units.params(p.get("params")), units.size_bytes(p.get("bytes_on_disk")),
                     (hardware or {}).get(p.key, "—")))
    n = max((p.n for p in points), default=0)
    caption = (f"Quality ({q.name}) and {c.label} of each vocoder"
               + (f", run {run}" if run is not None else "")
               + f"; means over up to {n} utterances, quality ± Student-t 95 % half-width, "
               "cost with its 95 % bootstrap percentile interval"
               + (f"; energy {energy_short(points)}" if energy else "")
               + ("; † estimated energy" if mixed else "") + ". Made by greenvoc report.")
    return PaperTable(header, tuple(rows), caption)


def to_latex(t: PaperTable, label: str = "tab:greenvoc") -> str:
    """A ``table`` float with a ``tabular`` (two left columns, numbers right-aligned)."""
    spec = "ll" + "r" * (len(t.header) - 3) + "l"
    lines = [
        "% written by greenvoc report; needs no LaTeX package",
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{" + latex_escape(t.caption) + "}",
        r"\label{" + label + "}",
        r"\begin{tabular}{" + spec + "}",
        r"\hline",
        " & ".join(latex_escape(x) for x in t.header) + r" \\",
        r"\hline",
        *(" & ".join(latex_escape(x) for x in row) + r" \\" for row in t.rows),
        r"\hline",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(t: PaperTable) -> str:
    """A GitHub-flavoured pipe table, numbers right-aligned, the caption under it."""
    align = [":--", ":--", *(["--:"] * (len(t.header) - 3)), ":--"]
    lines = ["| " + " | ".join(_md(x) for x in t.header) + " |",
             "| " + " | ".join(align) + " |",
             *("| " + " | ".join(_md(x) for x in row) + " |" for row in t.rows),
             "", _md(t.caption)]
    return "\n".join(lines) + "\n"


def write_tables(t: PaperTable, latex: str | Path | None = None,
                 markdown: str | Path | None = None) -> list[Path]:
    """Write the requested formats; returns the paths written."""
    out = []
    for path, render in ((latex, to_latex), (markdown, to_markdown)):
        if path is None:
            continue
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(t), encoding="utf-8")
        out.append(path)
    return out


def hardware_of(rows: Sequence[Mapping]) -> dict[tuple[str, str], str]:
    """(model, variant) → its hardware classes (``a; b``) from the rows' ``hardware``."""
    seen: dict[tuple[str, str], dict[str, None]] = {}
    for r in rows:
        key = (str(r["model"]), str(r.get("variant") or ""))
        if r.get("hardware"):
            seen.setdefault(key, {})[str(r["hardware"])] = None
    return {k: "; ".join(v) for k, v in seen.items()}
