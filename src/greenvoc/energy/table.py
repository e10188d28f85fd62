"""Rich tables of measurements, for terminals (the CLI prints them on stderr)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.markup import escape
from rich.table import Table

from greenvoc.energy.carbon import CarbonSettings
from greenvoc.energy.measurement import J_PER_KWH, Measurement


def _fmt_j(energy_j: float) -> str:
    return f"{energy_j:,.3f}" if energy_j < 1000 else f"{energy_j:,.1f}"


def measurement_table(m: Measurement, carbon: CarbonSettings) -> Table:
    """One row per component, then the total with its carbon, duration and label. A component
    with notes (why it is estimated, a gap, an approximation, mirrors merged) gets a numbered
    mark after its method, and the notes follow the table under those numbers."""
    label = "measured" if m.measured else "estimated"
    notes: list[str] = []
    table = Table(title=f"{m.name}: {m.duration_s:.3f} s, {label}", title_justify="left")
    for col, justify in [("component", "left"), ("method", "left"), ("energy (J)", "right"),
                         ("energy (kWh)", "right"), ("mean power (W)", "right"),
                         ("gCO2eq", "right")]:
        table.add_column(col, justify=justify)
    for name, c in sorted(m.components.items()):
        power = c.energy_j / m.duration_s if m.duration_s > 0 else 0.0
        marks = []
        for note in c.notes:
            if note not in notes:
                notes.append(note)
            marks.append(f"[{notes.index(note) + 1}]")
        method = " ".join([c.method, *marks])
        table.add_row(name, method, _fmt_j(c.energy_j), f"{c.energy_j / J_PER_KWH:.3e}",
                      f"{power:.2f}", f"{carbon.carbon_g(c.energy_j):.3e}")
    table.add_section()
    table.add_row("total", label, _fmt_j(m.energy_j), f"{m.energy_kwh:.3e}",
                  f"{m.mean_power_w:.2f}", f"{carbon.carbon_g(m.energy_j):.3e}", style="bold")
    i = carbon.intensity
    table.caption = "\n".join([
        f"carbon: {i.g_per_kwh:g} gCO2eq/kWh ({i.country}, {i.year}; {i.source}), "
        f"PUE {carbon.pue:g} — {carbon.origin}",
        *(f"[{n}] {escape(note)}" for n, note in enumerate(notes, 1)),
    ])
    table.caption_justify = "left"
    return table


def windows_table(measurements: Iterable[Measurement], carbon: CarbonSettings) -> Table:
    """One row per window: duration, energy, mean power, carbon, label."""
    table = Table(title="windows", title_justify="left")
    for col in ("window", "duration (s)", "energy (J)", "mean power (W)", "gCO2eq", "label"):
        table.add_column(col, justify="left" if col in ("window", "label") else "right")
    for m in measurements:
        table.add_row(m.name, f"{m.duration_s:.3f}", _fmt_j(m.energy_j), f"{m.mean_power_w:.2f}",
                      f"{carbon.carbon_g(m.energy_j):.3e}",
                      "measured" if m.measured else "estimated")
    return table
