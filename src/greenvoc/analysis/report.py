"""The run report: one self-contained HTML file (PNGs inlined as base64), the PNGs and a CSV.

:func:`render_report` takes the run info and result rows of
:func:`greenvoc.store.results.load_result_rows` and writes into ``out_dir``:
``report.html``, ``quality_vs_energy.png``, ``quality_vs_size.png``, ``energy_by_family.png``
and ``models.csv``. Every energy figure says whether it was measured or estimated, and the report
warns when a comparison mixes the two.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenvoc.analysis import html as h
from greenvoc.analysis import plots
from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from greenvoc.analysis.by_hardware import compare_hardware, group_by_hardware
from greenvoc.analysis.deployment import DEFAULT_HOURS, Projection, project
from greenvoc.analysis.efficiency import EFFICIENCY_FORMULA, FLOOR_FORMULA
from greenvoc.analysis.hardware_report import FIGURE, hardware_section
from greenvoc.analysis.objectives import COST_OBJECTIVES
from greenvoc.analysis.study import DEFAULT_COST, DEFAULT_QUALITY, ParetoAnalysis, analyze


@dataclass(frozen=True)
class Report:
    """What :func:`render_report` wrote, and the analysis it printed."""

    html: Path
    figures: tuple[Path, ...]
    csv: Path
    analysis: ParetoAnalysis
    projections: tuple[Projection, ...]
    #: hardware classes of the rows of the runs reported (two or more: "Across hardware")
    hardware_classes: tuple[str, ...] = ()


def _pareto_table(a: ParetoAnalysis) -> str:
    q, c = a.quality, a.cost
    header = ["model", "variant", "family", "status", f"{q.name} {q.arrow}", "± CI95",
              f"{c.name} [{c.unit}]", "± CI95", "rank", "efficiency", "eff. CI95",
              "P(front)", "dominated conf.", f"({q.name} − floor)/cost", "n", "failed", "energy"]
    rows = [[m.point.model, m.point.variant, m.point.family, m.status,
             m.point.get(q.name), m.point.ci95.get(q.name), m.point.get(c.name),
             m.point.ci95.get(c.name), m.rank, m.efficiency,
             f"{h.fmt(m.efficiency_ci[0])}–{h.fmt(m.efficiency_ci[1])}", m.p_front,
             m.dominated_confidence, m.quality_per_cost, m.point.n, m.point.n_failed,
             m.point.energy_label] for m in a.models]
    return h.table(header, rows, left=4)


def _cost_table(points: Sequence[Point]) -> str:
    cols = list(COST_OBJECTIVES.values())
    header = ["model", "variant", "family", "weights", "energy", "n", "failed",
              *(f"{o.name} [{o.unit}]" for o in cols)]
    rows = [[p.model, p.variant, p.family, "yes" if p.has_weights else "no", p.energy_label,
             p.n, p.n_failed, *(p.get(o.name) for o in cols)] for p in points]
    return h.table(header, rows, left=5)


def _projection_table(projs: Sequence[Projection], settings) -> str:
    header = ["model", "variant", "family", "energy", "J per audio s", "kWh", "kg CO2eq"]
    rows = [[p.model, p.variant, p.family, p.energy_label, p.energy_j_per_audio_s,
             p.energy_kwh, p.carbon_kg] for p in projs]
    grid = settings.intensity
    note = (f"Synthesising {h.fmt(DEFAULT_HOURS)} hours of speech: energy = J per audio second "
            f"× {h.fmt(DEFAULT_HOURS)} h × 3600 s/h (kWh = J / 3.6e6; IT equipment); carbon = kWh "
            f"× PUE {settings.pue:g} × {grid.g_per_kwh:g} gCO2eq/kWh ({grid.country}, "
            f"{grid.year}; source: {grid.source}). Settings: {settings.origin}.")
    return h.text("p", note) + h.table(header, rows, left=4)


def _figure_table(a: ParetoAnalysis, figures: Mapping[str, tuple[Path, Sequence[Point]]]) -> str:
    rows = []
    for caption, (path, pts) in figures.items():
        labels = sorted({p.energy_label for p in pts if p.energy_kind != "none"})
        kinds = {p.energy_kind for p in pts} - {"none"}
        kind = ("no energy shown" if not kinds else kinds.pop() if len(kinds) == 1
                and "mixed" not in kinds else "MIXED measured and estimated")
        rows.append([path.name, caption, kind, "; ".join(labels)])
    return h.table(["file", "figure", "energy", "how obtained"], rows, left=4)


def _run_section(info: Mapping) -> str:
    parts = [h.text("p", f"run {info.get('run', info.get('id', '?'))}, "
                         f"git commit {info.get('git_commit') or 'unknown'}, "
                         f"seed {info.get('seed', '—')}, "
                         f"idle power {h.fmt(info.get('idle_power_w'))} W")]
    for key in ("hardware", "versions", "config"):
        parts.append(h.text("h3", key) + h.pre_json(info.get(key) or {}))
    shown = {"run", "id", "git_commit", "seed", "idle_power_w", "hardware", "versions", "config"}
    other = {k: v for k, v in info.items() if k not in shown}
    if other:
        parts.append(h.text("h3", "other run information") + h.pre_json(other))
    return "".join(parts)


def _method_section(a: ParetoAnalysis) -> str:
    floor = "none (no natural floor; give one)" if a.floor is None else h.fmt(a.floor)
    items = [
        f"Efficiency: {EFFICIENCY_FORMULA}. Quality direction of {a.quality.name}: "
        f"{'higher' if a.quality.higher_is_better else 'lower'} is better (declared by the "
        "metric). A model with efficiency 1.0 but rank > 1 is weakly efficient: a model of equal "
        "cost is better.",
        f"Quality above a floor per unit cost: {FLOOR_FORMULA}; floor = {floor}.",
        f"Means over utterances with Student-t 95 % CIs; failed rows ({a.n_failed} of "
        f"{a.n_rows}) left out.",
        f"Front confidence: paired bootstrap over utterances, {a.n_resamples} resamples, seed "
        f"{a.seed}. 'dominated' = dominated in ≥ {a.level:.0%} of resamples; 'uncertain' = off "
        "the front on the means but not beyond noise.",
    ]
    return tag_list(items)


def tag_list(items: Sequence[str]) -> str:
    return h.tag("ul", "".join(h.text("li", i) for i in items))


def write_csv(a: ParetoAnalysis, path: Path) -> Path:
    doc = a.to_dict()
    rows = doc["models"] + doc["unranked"] + doc["cost_only"]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: v for k, v in r.items() if not isinstance(v, list)})
    return path


def _hardware_notes(info: Mapping, runs: Sequence[tuple[Mapping, Sequence[Mapping]]],
                    classes: Sequence[str]) -> list[str]:
    """What the sections above "Across hardware" show when several runs or classes are in."""
    if len(classes) < 2:
        return [h.text("p", f"Hardware class: {classes[0] if classes else 'none'} (every row; "
                            "nothing to compare across hardware).")]
    notes = []
    if len(runs) > 1:
        notes.append(f"The sections other than \"Across hardware\" show run "
                     f"{info.get('run', '?')} alone; \"Across hardware\" compares runs "
                     f"{', '.join(str(i.get('run', '?')) for i, _ in runs)}.")
    if len(runs) == 1 or len(group_by_hardware(runs[:1])) > 1:
        notes.append(f"The rows of run {info.get('run', '?')} come from several hardware "
                     "classes; the sections other than \"Across hardware\" pool them per "
                     "model: compare models in \"Across hardware\".")
    return [h.warning(n) for n in notes]


def render_report(info: Mapping, rows: Sequence[Mapping], out_dir: str | Path, *,
                  country: str | None = None, pue: float | None = None,
                  quality: str = DEFAULT_QUALITY, cost: str = DEFAULT_COST,
                  n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                  embed: bool = True, extra_sections: Sequence[str] = (),
                  runs: Sequence[tuple[Mapping, Sequence[Mapping]]] | None = None) -> Report:
    """Write the report of one run into ``out_dir`` (created); returns what was written.

    extra_sections: HTML fragments (each opening with its own ``<h2>``) from the layers above
    analysis (training runs, the published-model footprints, the literature survey), placed
    after the deployment projection. runs: ``(info, rows)`` of the runs compared in the section
    "Across hardware" (default: this run alone); the section is there when their rows come
    from two or more hardware classes.
    """
    from greenvoc.energy.carbon import resolve_carbon_settings

    settings = resolve_carbon_settings(country, pue)
    runs = list(runs) if runs else [(info, rows)]
    hw_classes = list(group_by_hardware(runs))
    a = analyze(rows, quality, cost, n_resamples=n_resamples, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranked = [m.point for m in a.models]
    figures = {
        f"{a.quality.name} vs {a.cost.name}, Pareto front dashed":
            (plots.plot_quality_vs_cost(a, out / "quality_vs_energy.png"), ranked),
        f"{a.quality.name} vs model size":
            (plots.plot_quality_vs_size(a, out / "quality_vs_size.png"), []),
        "energy per audio second by family":
            (plots.plot_energy_by_family(a.points, out / "energy_by_family.png"), a.points),
    }
    across = ""
    if len(hw_classes) > 1:
        cmp = compare_hardware(runs, quality, cost, n_resamples=n_resamples, seed=seed)
        across, png = hardware_section(cmp, [i for i, _ in runs], out, embed)
        figures[f"{a.quality.name} vs {a.cost.name} by hardware class"] = (
            png, [m.point for k in cmp.classes for m in k.analysis.models])
    projs = project(a.points, settings)
    body = [h.text("p", f"{len(a.points)} model variants, {a.n_rows} result rows "
                        f"({a.n_failed} failed). Quality {a.quality.name} "
                        f"({a.quality.arrow}) vs cost {a.cost.name} ({a.cost.arrow}).")]
    body += _hardware_notes(info, runs, hw_classes)
    if a.energy_warning:
        body.append(h.warning("Warning: " + a.energy_warning))
    if a.n_failed:
        body.append(h.warning(f"{a.n_failed} result row(s) failed and are left out of every "
                              "mean."))
    body.append(h.text("h2", "Figures"))
    body += [h.figure(path, caption, embed) for caption, (path, _) in figures.items()
             if path.name != FIGURE]
    body += [h.text("h3", "Figures and how their energy was obtained"),
             _figure_table(a, figures)]
    body += [h.text("h2", "Pareto front and efficiency"), _pareto_table(a)]
    if a.cost_only or a.unranked:
        body += [h.text("p", "Not ranked on quality (no weights, no quality or no cost "
                             "value, or fewer utterances than the others): "
                             + ", ".join(p.label for p in a.cost_only + a.unranked))]
    if a.hypervolume_reference is not None:
        body += [h.text("h3", "Hypervolume by variant (larger is better, common reference "
                              f"{', '.join(h.fmt(r) for r in a.hypervolume_reference)})"),
                 h.table(["variant", "hypervolume"],
                         [["all" if k == "*" else k, v]
                          for k, v in a.hypervolume_by_variant.items()])]
    body += [h.text("h2", "Cost of every model (means over utterances)"),
             _cost_table(a.points), across]
    body += [h.text("h2", "Deployment projection"), _projection_table(projs, settings)]
    body += list(extra_sections)
    body += [h.text("h2", "Method"), _method_section(a)]
    body += [h.text("h2", "Run"), _run_section(info)]
    path = out / "report.html"
    path.write_text(h.page("greenvoc report: quality vs energy", "".join(body)),
                    encoding="utf-8")
    return Report(path, tuple(p for p, _ in figures.values()), write_csv(a, out / "models.csv"),
                  a, tuple(projs), tuple(hw_classes))
