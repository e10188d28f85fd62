"""HTML sections for the report: the literature survey chart and published models' footprints.

Built with :mod:`greenvoc.analysis.html` (escaped text, base64 figures) and drawn with the
report's matplotlib helpers, so the sections look like the rest of the report.
"""

from __future__ import annotations

from pathlib import Path

from greenvoc.analysis import html as h
from greenvoc.analysis.plots import pyplot, save_figure
from greenvoc.footprint.calculator import estimate_training_footprint
from greenvoc.footprint.published import load_published_models
from greenvoc.footprint.survey import MEASURES, energy_studies, load_papers, measure_shares


def plot_measure_shares(shares: dict[str, float], n_papers: int, path: Path) -> Path:
    """Horizontal bars: the percentage of papers reporting each measure, highest on top."""
    plt = pyplot()
    items = sorted(shares.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(items) + 1.2))
    values = [100 * v for _, v in items]
    ax.barh([MEASURES[k] for k, _ in items], values, color="0.45")
    for y, v in enumerate(values):
        ax.annotate(f"{v:.0f} %", (v, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel(f"% of {n_papers} papers reporting the measure")
    ax.set_title("What papers on deep generative audio report")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def survey_section_html(out_dir: Path, embed: bool = True) -> str:
    """``<h2>What papers report</h2>`` with the share chart and a short reading of it."""
    papers = load_papers()
    shares = measure_shares(papers)
    png = plot_measure_shares(shares, len(papers), Path(out_dir) / "survey_shares.png")
    counts = {m: round(s * len(papers)) for m, s in shares.items()}
    rows = [(MEASURES[m], counts[m], 100 * shares[m]) for m in MEASURES]
    caption = (f"Share of {len(papers)} papers on vocoders, TTS, music/audio generation and "
               f"codecs that report each measure (greenvoc/data/literature_metrics.csv; "
               f"{sum(p.verified for p in papers)} rows checked against a stored copy of the "
               f"paper's text, the rest from the curator's reading).")
    studies = [(f"{p.authors} ({p.year}), {p.title}", p.notes, p.source)
               for p in energy_studies()]
    return (h.text("h2", "What papers report")
            + h.figure(png, caption, embed=embed)
            + h.table(["measure", "papers", "% of papers"], rows)
            + h.text("h3", "Studies that measure energy (not in the shares above)")
            + h.table(["study", "what it measures", "source"], studies, left=3))


def published_section_html(country: str | None = None, pue: float | None = None) -> str:
    """A table of the published models: what each paper reports and, where it can, the footprint."""
    rows = []
    for m in load_published_models().values():
        if m.computable:
            fp = estimate_training_footprint(m.gpu, m.device_count, m.train_hours,
                                             country=country, pue=pue)
            energy, carbon = fp.energy_kwh, fp.carbon_g / 1000
        else:
            energy = carbon = None
        rows.append((m.model, f"{m.venue} ({m.year})", m.hardware or "not reported",
                     m.train_hours, m.reported, energy, carbon,
                     f"{m.source} {m.source_section}"))
    note = ("Upper-bound estimates: rated board power × devices × hours × PUE at the chosen grid; "
            "'unchecked' rows could not be read against the paper and carry no figures.")
    return (h.text("h2", "Training footprint of published models")
            + h.warning(note)
            + h.table(["model", "venue", "hardware (paper)", "train hours", "reported",
                       "energy kWh", "kgCO2eq", "source"], rows, left=3))
