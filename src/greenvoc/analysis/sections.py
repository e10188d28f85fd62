"""The report's tables: the decision, the leaderboard, the front, the deployment projection.

Every function returns HTML (escaped) for :func:`greenvoc.analysis.report.render_report`.
Numbers are in human units (:mod:`greenvoc.analysis.units`); how the energy was obtained is said
once, in the column header, and per row only when a table mixes measured and estimated figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from greenvoc.analysis import html as h
from greenvoc.analysis import units
from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import mean_interval
from greenvoc.analysis.caveats import energy_short
from greenvoc.analysis.decision import Decision, best_quality
from greenvoc.analysis.deployment import DEFAULT_HOURS, Projection
from greenvoc.analysis.leaderboard import Column, leaderboard
from greenvoc.analysis.study import ParetoAnalysis

#: The leaderboard's filter fields.
FILTERS = ("family", "variant", "hardware", "weights")


def cost_header(a: ParetoAnalysis, points: Sequence[Point]) -> str:
    """``energy per audio second [J/s] ↓, estimated (TDP × CPU time)``: provenance once."""
    c = a.cost
    how = f", {energy_short(points)}" if c.name.startswith("energy") else ""
    return f"{c.label} [{c.unit}] {c.arrow}{how}"


def _with_interval(p: Point, col: str, log: bool) -> str:
    m = p.get(col)
    if m is None or m != m:
        return "—"
    return units.si(m) + (f" ({_interval(p, col, log)})" if _interval(p, col, log) else "")


def _interval(p: Point, col: str, log: bool) -> str:
    """``lo–hi``: the 95 % bootstrap percentile interval of the mean; empty with n < 2."""
    ci = mean_interval(p.values.get(col, ()), log=log)
    return f"{units.si(ci[0])}–{units.si(ci[1])}" if ci else ""


def short_hardware(label: str) -> str:
    """``cpu:Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz x1`` → ``Intel Xeon Platinum
    8370C x1``: the class without its trademarks and clock, for narrow columns."""
    import re

    text = re.sub(r"\((R|TM|tm|r)\)", "", label.removeprefix("cpu:"))
    text = re.sub(r"\s+CPU\s+@\s+[\d.]+\s*GHz", "", text)
    text = re.sub(r"\s+\d+-Core Processor", "", text)
    return re.sub(r"\s+", " ", text.replace("gpu:", "GPU ")).strip()


def _times(d: Decision) -> str:
    if d.times_cheaper is None:
        return "—"
    if d.times_cheaper == 1.0:
        return "1× (best quality)"
    ci = d.times_cheaper_ci
    text = f"{units.si(d.times_cheaper)}×"
    if ci and abs(ci[1] - ci[0]) > 1e-9:
        text += f" ({units.si(ci[0])}–{units.si(ci[1])})"
    return text


def decision_table(a: ParetoAnalysis, decisions: Sequence[Decision]) -> str:
    """Requirement → pick, its quality and cost (95 % bootstrap intervals), how many times
    cheaper than the best-quality model, and how sure, in words."""
    best = best_quality(a)
    if best is None or not decisions:
        return h.warning("No model could be ranked on quality: there is no decision to make "
                         "(models without weights are measured for cost only).")
    q = a.quality
    header = ["requirement", "pick", f"{q.name} {q.arrow} (95 % interval)",
              cost_header(a, [m.point for m in a.models]) + " (95 % interval)",
              f"× cheaper than the best quality, {best.point.label}", "how sure"]
    rows = []
    for d in decisions:
        p = d.pick.point if d.pick else None
        rows.append([d.requirement, p.label if p else "none",
                     _with_interval(p, q.name, False) if p else "—",
                     _with_interval(p, a.cost.name, True) if p else "—", _times(d),
                     d.certainty])
    return _labelled_table("decision-table", header, rows, left=(0, 1, 5))


def _labelled_table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[str]],
                    left: Sequence[int]) -> str:
    """A table whose cells carry their column's name (``data-label``), so that on a narrow
    screen each row can be shown as a card (see :data:`NARROW_CSS`)."""
    def cls(i: int) -> str:
        return ' class="l"' if i in left else ""

    head = "".join(f"<th{cls(i)}>{escape(x)}</th>" for i, x in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f'<td{cls(i)} data-label="{escape(header[i])}">{escape(str(v))}</td>'
                         for i, v in enumerate(r)) + "</tr>" for r in rows)
    return (f'<div class="tbl" id="{table_id}"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


#: Below 700 px the decision table's rows become cards: one line per column, named.
NARROW_CSS = """<style>
@media (max-width: 700px) {
#decision-table thead{display:none}
#decision-table tr{display:block;border:1px solid #ccc;margin:0 0 0.6rem}
#decision-table td{display:block;border:none;text-align:left;white-space:normal!important}
#decision-table td::before{content:attr(data-label) ": ";font-weight:600}
}
</style>"""


def never_recommended(a: ParetoAnalysis) -> str:
    """The sentence naming what the decision left out, and why."""
    parts = []
    if a.cost_only:
        parts.append(f"{len(a.cost_only)} model(s) measured for cost only (no weights or no "
                     "quality) are never recommended")
    if a.unranked:
        parts.append(f"{len(a.unranked)} not ranked (no cost value, or fewer utterances than "
                     "the others): " + ", ".join(p.label for p in a.unranked))
    return "; ".join(parts) + "." if parts else ""


def leaderboard_section(a: ParetoAnalysis, hardware: Mapping[tuple[str, str], str]) -> str:
    """Every model, ranked or not: sortable by any column, filterable by family, variant,
    hardware and weights."""
    status = {m.point.key: m for m in a.models}
    points = a.points
    kinds = {p.energy_kind for p in points} - {"none"}
    q = a.quality
    rows = []
    for p in points:
        m = status.get(p.key)
        label = m.status if m else ("cost only" if p in a.cost_only else "not ranked")
        row = {
            "model": Column("model", p.model, left=True),
            "family": Column("family", p.family or "?", left=True),
            "variant": Column("variant", p.variant, left=True),
            "hardware": Column("hardware", short_hardware(hardware.get(p.key, "—")),
                               left=True),
            "weights": Column("weights", "yes" if p.has_weights else "no", left=True),
            "status": Column("status", label, left=True),
            "quality": Column(f"{q.name} {q.arrow}", units.si(p.get(q.name))
                              if p.has_weights else "—", p.get(q.name),
                              detail=_interval(p, q.name, False) if p.has_weights else ""),
            "cost": Column(cost_header(a, points), units.si(p.get(a.cost.name)),
                           p.get(a.cost.name), detail=_interval(p, a.cost.name, True)),
            "rtf": Column("RTF", units.cell(p.get("rtf"), "s/s"), p.get("rtf")),
            "params": Column("params", units.params(p.get("params")), p.get("params")),
            "size": Column("size", units.size_bytes(p.get("bytes_on_disk")),
                           p.get("bytes_on_disk")),
            "macs": Column("MACs", units.rate(p.get("macs_per_audio_s"), "MAC/s"),
                           p.get("macs_per_audio_s")),
            "efficiency": Column("efficiency", units.cell(m.efficiency, "") if m else "—",
                                 m.efficiency if m else None),
            "p_front": Column("P(front)", f"{m.p_front:.2f}" if m else "—",
                              m.p_front if m else None),
            "n": Column("n", p.n, p.n),
        }
        if len(kinds) > 1:
            row["energy"] = Column("energy", p.energy_label, left=True)
        rows.append(row)
    return leaderboard(rows, FILTERS)


def front_table(a: ParetoAnalysis) -> str:
    """Rank, efficiency and bootstrap confidence of the ranked models (the leaderboard has
    their values)."""
    q = a.quality
    header = ["model/variant", "status", "rank", "efficiency (95 % interval)", "P(front)",
              "dominated in", f"({q.name} − floor) per cost"]
    rows = [[m.point.label, m.status, m.rank,
             f"{units.cell(m.efficiency, '')}" + (
                 f" ({units.cell(m.efficiency_ci[0], '')}–{units.cell(m.efficiency_ci[1], '')})"
                 if m.efficiency_ci[0] == m.efficiency_ci[0] else ""),
             f"{m.p_front:.2f}", f"{m.dominated_confidence:.0%} of resamples",
             m.quality_per_cost] for m in a.models]
    return h.table(header, rows, left=2)


def projection_table(projs: Sequence[Projection], points: Sequence[Point], settings) -> str:
    """kWh and kg CO2eq of synthesising DEFAULT_HOURS hours with each model."""
    grid = settings.intensity
    hours = h.fmt(DEFAULT_HOURS)
    note = (f"Synthesising {hours} hours of speech: energy = J per audio second × {hours} h × "
            f"3,600 s/h ÷ 3.6 MJ/kWh (IT equipment), so for {hours} hours the kWh figure equals "
            f"the J per audio second figure; carbon = kWh × PUE {settings.pue:g} × "
            f"{grid.g_per_kwh:g} gCO2eq/kWh ({grid.country}, {grid.year}; source: "
            f"{grid.source}). Settings: {settings.origin}.")
    header = ["model", "variant", "family",
              f"kWh for {hours} h, {energy_short(points)}", "kg CO2eq"]
    rows = [[p.model, p.variant, p.family, units.cell(p.energy_kwh, "kWh"),
             units.cell(p.carbon_kg, "kg")] for p in projs]
    return h.text("p", note) + h.table(header, rows, left=3)
