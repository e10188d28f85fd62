"""The run report: one self-contained HTML file that answers "which vocoder?" first, the PNGs
for papers and a CSV.

:func:`render_report` takes the run info and result rows of
:func:`greenvoc.store.results.load_result_rows` and writes into ``out_dir``:
``report.html`` (the decision table and its caveats, interactive Plotly charts and a sortable,
filterable leaderboard, everything inlined: it opens offline and makes no request; PNGs inlined
as base64), ``quality_vs_energy.png``, ``quality_vs_size.png``, ``energy_by_family.png`` and
``models.csv`` (and the paper table as LaTeX/Markdown when asked). Every energy figure says
whether it was measured or estimated, and the report warns when a comparison mixes the two.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenvoc.analysis import html as h
from greenvoc.analysis import interactive, plots, sections
from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from greenvoc.analysis.by_hardware import compare_hardware, group_by_hardware
from greenvoc.analysis.caveats import caveat_sentence, corpus_facts, energy_short
from greenvoc.analysis.decision import Decision, decide
from greenvoc.analysis.deployment import Projection, project
from greenvoc.analysis.efficiency import EFFICIENCY_FORMULA, FLOOR_FORMULA
from greenvoc.analysis.export import hardware_of, paper_table, write_tables
from greenvoc.analysis.hardware_report import FIGURE, hardware_section
from greenvoc.analysis.human import TEST_TYPES, StudySummary, human_section
from greenvoc.analysis.leaderboard import LEADERBOARD_CSS
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
    #: the decision table's rows, as shown first in the report
    decisions: tuple[Decision, ...] = ()
    #: paper tables written (--latex, --markdown)
    tables: tuple[Path, ...] = ()


def _figure_table(a: ParetoAnalysis, figures: Mapping[str, tuple[Path, Sequence[Point]]]) -> str:
    rows = []
    for caption, (path, pts) in figures.items():
        labels = sorted({p.energy_label for p in pts if p.energy_kind != "none"})
        kinds = {p.energy_kind for p in pts} - {"none"}
        kind = ("no energy shown" if not kinds else kinds.pop() if len(kinds) == 1
                and "mixed" not in kinds else "MIXED measured and estimated")
        how = energy_short(pts) if len(kinds) == 1 and "mixed" not in kinds \
            else "; ".join(labels) or "—"
        rows.append([path.name, caption, kind, how])
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


def _hardware_by_model(runs: Sequence[tuple[Mapping, Sequence[Mapping]]]
                       ) -> dict[tuple[str, str], str]:
    """(model, variant) → hardware class(es) of the reported run (the first of ``runs``)."""
    rows = [r for rs in group_by_hardware(runs[:1]).values() for r in rs]
    return hardware_of(rows)


def _decision_section(a: ParetoAnalysis, decisions, info: Mapping, rows: Sequence[Mapping],
                      classes: Sequence[str]) -> str:
    utterances = {r.get("utterance") for r in rows if not r.get("error")
                  and (str(r["model"]), str(r.get("variant") or "")) in
                  {m.point.key for m in a.models}}
    facts = corpus_facts(info, [u for u in utterances if u is not None])
    caveat = caveat_sentence(info, facts, a.points, a.quality, classes)
    left_out = sections.never_recommended(a)
    return (h.text("h2", "Which vocoder?") + sections.decision_table(a, decisions)
            + h.text("p", caveat + (" " + left_out[0].upper() + left_out[1:] if left_out
                                    else ""), "caveat"))


def _charts(a: ParetoAnalysis, runs, quality_png: Path, js: str | None,
            embed: bool) -> tuple[list, str, str]:
    """(charts, HTML of the quality chart, HTML of the time–energy chart); without plotly's
    JavaScript (plotly not installed) the quality chart is its PNG and there is no other."""
    from greenvoc.analysis.aggregate import aggregate

    if js is None:
        return [], h.figure(quality_png, "quality vs cost (install plotly for the interactive "
                                         "chart)", embed), ""

    q_chart = interactive.quality_cost_chart(a)
    classes = {label: aggregate(rs) for label, rs in group_by_hardware(runs).items()}
    energy = a.cost.name if a.cost.name.startswith("energy") else "energy_j_per_audio_s"
    t_chart = interactive.time_energy_chart(classes, energy)
    charts = [c for c in (q_chart, t_chart) if c is not None]
    fallback = h.text("p", f"JavaScript is off: the same chart is {quality_png.name}, under "
                           "\"Figures for papers\".", "warn")
    q_html = q_chart.html() + f"<noscript>{fallback}</noscript>"
    t_html = t_chart.html(400) if t_chart else ""
    return charts, q_html, t_html


def render_report(info: Mapping, rows: Sequence[Mapping], out_dir: str | Path, *,
                  country: str | None = None, pue: float | None = None,
                  quality: str = DEFAULT_QUALITY, cost: str = DEFAULT_COST,
                  n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                  embed: bool = True, extra_sections: Sequence[str] = (),
                  runs: Sequence[tuple[Mapping, Sequence[Mapping]]] | None = None,
                  floors: Sequence[float] = (), budgets_j_per_s: Sequence[float] = (),
                  human_studies: Sequence[StudySummary] | None = None,
                  latex: str | Path | None = None,
                  markdown: str | Path | None = None) -> Report:
    """Write the report of one run into ``out_dir`` (created); returns what was written.

    The page opens with the decision (:func:`greenvoc.analysis.decision.decide`: the cheapest
    model meeting each quality level of the front, each of ``floors`` and the best within each
    of ``budgets_j_per_s``) and a caveats sentence generated from the data, then the
    interactive quality-vs-cost chart and the leaderboard (Plotly and the table's script
    inlined: no network request), the time–energy fronts per hardware class, the PNGs for
    papers and the detailed tables. extra_sections: HTML fragments (each opening with its own
    ``<h2>``) from the layers above analysis, placed after the deployment projection. runs:
    ``(info, rows)`` of the runs compared in the section "Across hardware" (default: this run
    alone); the section is there when their rows come from two or more hardware classes.
    human_studies: the listening tests behind a human-rating quality (named in their own
    section). latex / markdown: also write the paper table there
    (:mod:`greenvoc.analysis.export`).
    """
    from greenvoc.energy.carbon import resolve_carbon_settings

    settings = resolve_carbon_settings(country, pue)
    runs = list(runs) if runs else [(info, rows)]
    hw_classes = list(group_by_hardware(runs))
    a = analyze(rows, quality, cost, n_resamples=n_resamples, seed=seed)
    decisions = decide(a, floors, budgets_j_per_s)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranked = [m.point for m in a.models]
    figures = {
        f"{a.quality.name} vs {a.cost.name}, Pareto front as a step line":
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
    hardware = _hardware_by_model(runs)
    table = paper_table(a, hardware, info.get("run"))
    tables = write_tables(table, latex, markdown)
    js = interactive.plotly_js()
    charts, q_chart, t_chart = _charts(a, runs, figures[next(iter(figures))][0], js, embed)
    body = [h.text("p", f"Run {info.get('run', '?')}: {len(a.models)} of {len(a.points)} "
                        f"model variants ranked on quality {a.quality.name} "
                        f"({a.quality.arrow}) vs cost {a.cost.name} ({a.cost.arrow}); "
                        f"{a.n_rows} result rows ({a.n_failed} failed).", "sub")]
    body.append(_decision_section(a, decisions, info, rows, hw_classes))
    if a.energy_warning:
        body.append(h.warning("Warning: " + a.energy_warning))
    body.append(q_chart)
    if a.n_failed:
        body.append(h.warning(f"{a.n_failed} result row(s) failed and are left out of every "
                              "mean."))
    body += _hardware_notes(info, runs, hw_classes)
    body += [h.text("h2", "Leaderboard"),
             h.text("p", "Every model measured: click a header to sort, pick a family, "
                         "variant, hardware or weights to filter. Intervals: 95 % bootstrap "
                         "percentile intervals of the mean over utterances.", "sub"),
             sections.leaderboard_section(a, hardware)]
    if t_chart:
        body += [h.text("h2", "Time and energy per hardware class"), t_chart]
    if a.quality.name in TEST_TYPES:
        body.append(human_section(a.quality.name, human_studies or []))
    body.append(h.text("h2", "Figures for papers"))
    body += [h.figure(path, caption, embed) for caption, (path, _) in figures.items()
             if path.name != FIGURE]
    body += [h.text("h3", "Figures and how their energy was obtained"),
             _figure_table(a, figures),
             h.text("p", "A table for a paper: greenvoc report --latex table.tex "
                         "--markdown table.md (quality ± CI, energy per audio second, RTF, "
                         "parameters, size, hardware).", "sub")]
    body += [h.text("h2", "Pareto front and efficiency"), sections.front_table(a)]
    if a.hypervolume_reference is not None:
        body += [h.text("h3", "Hypervolume by variant (larger is better, common reference "
                              f"{', '.join(h.fmt(r) for r in a.hypervolume_reference)})"),
                 h.table(["variant", "hypervolume"],
                         [["all" if k == "*" else k, v]
                          for k, v in a.hypervolume_by_variant.items()])]
    body.append(across)
    body += [h.text("h2", "Deployment projection"),
             sections.projection_table(projs, a.points, settings)]
    body += list(extra_sections)
    body += [h.text("h2", "Method"), _method_section(a)]
    body += [h.text("h2", "Run"), _run_section(info)]
    path = out / "report.html"
    page = h.page("greenvoc report: which vocoder?", "".join(body),
                  head=LEADERBOARD_CSS + sections.NARROW_CSS,
                  scripts=interactive.scripts(charts, js))
    path.write_text(page, encoding="utf-8")
    return Report(path, tuple(p for p, _ in figures.values()), write_csv(a, out / "models.csv"),
                  a, tuple(projs), tuple(hw_classes), tuple(decisions), tuple(tables))
