"""The report's "Training" section: runs, their energy, the projections, and quality against
cumulative training energy."""

from __future__ import annotations

from pathlib import Path

from greenvoc.analysis import html as h
from greenvoc.analysis.plots import pyplot, save_figure
from greenvoc.energy.measurement import J_PER_KWH
from greenvoc.store import train_tables as tt


def plot_quality_vs_energy(series: dict[str, list], path: Path) -> Path | None:
    """One line per run: mel L1 (left) and DNSMOS OVRL (right) against cumulative kWh."""
    if not any(series.values()):
        return None
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, rows in series.items():
        kwh = [r.cumulative_energy_j / J_PER_KWH for r in rows]
        ax1.plot(kwh, [r.mel_l1 for r in rows], marker="o", label=label)
        pairs = [(k, r.dnsmos_ovrl) for k, r in zip(kwh, rows, strict=True)
                 if r.dnsmos_ovrl is not None]
        if pairs:
            ax2.plot(*zip(*pairs, strict=True), marker="o", label=label)
    ax1.set(xlabel="cumulative training energy (kWh)", ylabel="mel L1 (nats, lower is better)")
    ax2.set(xlabel="cumulative training energy (kWh)", ylabel="DNSMOS OVRL (higher is better)")
    ax1.legend(fontsize=7)
    return save_figure(fig, path)


def training_section_html(store, out_dir: str | Path) -> str | None:
    """HTML fragment for the report, or None when the database holds no training run."""
    runs = tt.run_rows(store)
    if not runs:
        return None
    parts = [h.text("h2", "Training")]
    parts.append(h.text("p", "Every training step runs inside the energy meter; a run's energy "
                        "is measured only where every step came from hardware counters, "
                        "otherwise it is the labelled estimate."))
    rows = [(f"{r.id}", r.recipe, r.status, r.steps_done, r.energy_j / J_PER_KWH, r.carbon_g,
             (r.energy_j / r.steps_done) if r.steps_done else None, r.energy_label or "—",
             r.discarded_energy_j / J_PER_KWH if r.discarded_energy_j else 0.0)
            for r in runs]
    parts.append(h.table(("run", "recipe", "status", "steps", "kWh", "gCO2eq", "J/step",
                          "energy", "discarded kWh (resume)"), rows, left=3))
    proj = [(f"{r.id}", r.recipe, p["scenario"], p["steps"], p["hours"], p["energy_kwh"],
             p["carbon_g"], p["basis"], p["source"])
            for r in runs for p in (r.projection or [])]
    if proj:
        parts.append(h.text("h3", "Projections of the published schedules"))
        parts.append(h.warning("PROJECTIONS, not measurements: each row scales a short metered "
                               "run or a published GPU throughput by the constants it names."))
        parts.append(h.table(("run", "recipe", "scenario", "steps", "hours", "kWh", "gCO2eq",
                              "basis", "source"), proj, left=3))
    series = {f"run {r.id} {r.recipe}": tt.validation_rows(store, r.id) for r in runs}
    png = plot_quality_vs_energy(series, Path(out_dir) / "training_quality_vs_energy.png")
    if png is not None:
        parts.append(h.figure(png, "Validation quality on held-out clips against cumulative "
                              "training energy"))
    return "\n".join(parts)
