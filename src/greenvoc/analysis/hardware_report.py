"""The report's section "Across hardware": the fronts of every hardware class in one figure, a
table of the classes (how each measured its energy, its nodes' idle power) and a table of each
model's energy and RTF ratios between classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from greenvoc.analysis import html as h
from greenvoc.analysis import plots
from greenvoc.analysis.by_hardware import HardwareComparison, HardwareRatio, run_hardware

FIGURE = "across_hardware.png"


def _watts(record: Mapping) -> str:
    """``12.5 W (rapl)`` from a record's ``idle_power_w`` and ``idle_method``; ``—`` if none."""
    if record.get("idle_power_w") is None:
        return "—"
    return f"{h.fmt(record['idle_power_w'])} W ({record.get('idle_method') or 'unknown method'})"


def _idle(label: str, infos: Sequence[Mapping]) -> str:
    """Idle power of the nodes of class ``label`` (``label (run N)`` included), as recorded."""
    figures = [f"{_watts(n)} on {n.get('hostname') or n.get('node')}"
               for info in infos for n in info.get("nodes") or []
               if n.get("hardware") and (label == n["hardware"]
                                         or label.startswith(f"{n['hardware']} (run "))]
    return "; ".join(figures) or "—"


def _classes_table(cmp: HardwareComparison, infos: Sequence[Mapping]) -> str:
    header = ["hardware class", "energy (how obtained)", "runs", "hosts", "idle power",
              "rows", "failed", "Pareto front"]
    rows = [[k.label, k.energy_label, ", ".join(map(str, k.runs)),
             ", ".join(k.hostnames) or "—", _idle(k.label, infos), k.analysis.n_rows,
             k.analysis.n_failed, ", ".join(m.point.label for m in k.analysis.front) or "—"]
            for k in cmp.classes]
    return h.table(header, rows, left=5)


def _runs_table(infos: Sequence[Mapping]) -> str:
    header = ["run", "hardware recorded with the run", "git commit", "greenvoc",
              "run idle power"]
    rows = [[str(i.get("run", "?")), run_hardware(i), i.get("git_commit") or "unknown",
             (i.get("versions") or {}).get("greenvoc") or "?", _watts(i)] for i in infos]
    return h.table(header, rows, left=4)


def _ci(r) -> str:
    return "—" if r is None else f"{h.fmt(r.ci95[0])}–{h.fmt(r.ci95[1])}"


def _pairing(r: HardwareRatio) -> str:
    return f"paired, {r.energy.n_utterances} utterances" if r.energy.paired else "unpaired"


def _ratios_table(cmp: HardwareComparison) -> str:
    header = ["model", "variant", "numerator", "denominator", f"{cmp.energy_column} ratio",
              "CI95", "rtf ratio", "CI95", "resampling", "energy basis",
              "numerator energy", "denominator energy"]
    rows = []
    for r in cmp.ratios:
        rtf = r.get("rtf")
        rows.append([r.model, r.variant, r.numerator, r.denominator, r.energy.ratio,
                     _ci(r.energy), None if rtf is None else rtf.ratio, _ci(rtf), _pairing(r),
                     r.basis, r.numerator_energy, r.denominator_energy])
    return h.table(header, rows, left=4)


def hardware_section(cmp: HardwareComparison, infos: Sequence[Mapping], out_dir: Path,
                     embed: bool = True) -> tuple[str, Path]:
    """(HTML of the section, the PNG written into ``out_dir``)."""
    png = plots.plot_across_hardware(cmp, Path(out_dir) / FIGURE)
    caption = (f"{cmp.quality.name} vs {cmp.cost.name} (log) on {len(cmp.classes)} hardware "
               "classes; hollow markers: estimated energy")
    body = [h.text("h2", "Across hardware"),
            h.text("p", f"{len(cmp.classes)} hardware classes in run(s) "
                        f"{', '.join(map(str, cmp.runs))}: one Pareto front per class, and each "
                        "model/variant measured on two classes compared by the ratio of its "
                        "means (numerator ÷ denominator). The 95 % intervals are bootstrap "
                        f"percentiles ({cmp.n_resamples} resamples, seed {cmp.seed}), paired over "
                        "the utterances both classes measured when there are at least two.")]
    if cmp.energy_warning:
        body.append(h.warning("Warning: " + cmp.energy_warning))
    body += [h.figure(png, caption, embed), h.text("h3", "Hardware classes"),
             _classes_table(cmp, infos), h.text("h3", "Runs compared"), _runs_table(infos),
             h.text("h3", "Ratios between classes")]
    body.append(_ratios_table(cmp) if cmp.ratios else
                h.text("p", "No model/variant was measured on two hardware classes."))
    return "".join(body), png
