"""Figures that read right: positive intervals, log cost axes when costs span > 10×, labels that
do not overlap, the energy's provenance on the axis, a small-n warning on the figure."""

from __future__ import annotations

import numpy as np
import pytest

from greenvoc.analysis import plots
from greenvoc.analysis.aggregate import mean_ci95
from greenvoc.analysis.bootstrap import mean_interval
from greenvoc.analysis.study import analyze

from .conftest import make_row, zoo_rows

TWO = ("arctic_a0001", "arctic_a0002")


def test_percentile_interval_stays_positive_where_the_t_interval_does_not():
    x = np.array([1.0, 22.0])  # n = 2: mean 11.5, the demo's "11.5 ± 19.6" and worse
    mean, half = mean_ci95(x)
    assert mean - half < 0  # what the report drew before: an energy below zero
    for log in (False, True):
        lo, hi = mean_interval(x, log=log)
        assert 1.0 - 1e-9 <= lo < mean < hi <= 22.0 + 1e-9  # never beyond the data
    assert mean_interval([5.0]) is None and mean_interval([]) is None


def test_log_percentiles_are_taken_on_the_log_of_the_means():
    rng = np.random.default_rng(1)
    x = rng.lognormal(1.0, 1.0, size=6)
    lo_lin, hi_lin = mean_interval(x)
    lo_log, hi_log = mean_interval(x, log=True)
    means = x[np.random.default_rng(0).integers(0, 6, size=(2000, 6))].mean(axis=1)
    assert lo_log == pytest.approx(np.exp(np.percentile(np.log(means), 2.5)))
    assert lo_lin == pytest.approx(np.percentile(means, 2.5))
    assert lo_log > 0 and hi_log == pytest.approx(hi_lin, rel=0.05)


def _demo_like(n_utts=TWO):
    """Like the demo: two HiFi-GANs of near-equal quality and cost, costs spanning 15×."""
    zoo = (("hifigan-v1-lj", "fp32", "hifigan", 2.83, 20.7, False, True),
           ("hifigan-v1-universal", "fp32", "hifigan", 2.86, 21.5, False, True),
           ("griffin-lim", "fp32", "dsp", 2.74, 1.36, False, True),
           ("world", "fp32", "dsp", 3.21, 3.92, False, True))
    return [r for r in zoo_rows(noise=0.4, zoo=zoo) if r["utterance"] in n_utts]


def test_quality_vs_energy_reads_right():
    a = analyze(_demo_like(), n_resamples=50)
    fig = plots.draw_quality_vs_cost(a)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"  # 1.36 to 21.5 J/s: more than 10×
    assert "estimated (TDP × CPU time)" in ax.get_xlabel() and "log scale" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("n = 2 utterances") for t in texts)
    # every error bar stays at positive energy
    for coll in ax.collections:
        for seg in coll.get_segments():
            assert (np.asarray(seg)[:, 0] > 0).all()
    # labels: every model named once, no two label boxes overlap
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if "/" in t.get_text()]
    assert sorted(t.get_text() for t in labels) == sorted(p.label for p in a.points)
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, b in enumerate(boxes):
        for c in boxes[i + 1:]:
            assert not b.overlaps(c), "labels overlap"
    # the front as a step line, colour by family, marker by variant in the legend
    (front,) = [ln for ln in ax.get_lines() if ln.get_gid() == "pareto-front"]
    xs, ys = front.get_data()
    assert all(a == b for a, b in zip(xs[0::2], xs[1::2], strict=False))  # vertical risers
    assert all(a == b for a, b in zip(ys[1::2], ys[2::2], strict=False))  # horizontal treads
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"dsp", "hifigan",
                                                                   "Pareto front"}


def test_narrow_costs_keep_a_linear_axis_and_no_warning_from_five_utterances():
    rows = [make_row(m, v, "f", f"u{i}", q, e) for m, v, q, e in
            (("a", "fp32", 3.0, 2.0), ("a", "int8", 2.9, 1.5), ("b", "fp32", 3.3, 5.0))
            for i in range(5)]
    a = analyze(rows, n_resamples=20)
    ax = plots.draw_quality_vs_cost(a).axes[0]
    assert ax.get_xscale() == "linear" and "measured (RAPL)" in ax.get_xlabel()
    assert not any(t.get_text().startswith("n = ") for t in ax.texts)
    markers = {ln.get_marker() for ln in ax.get_lines() if ln.get_marker() not in ("None", "")}
    assert {"o", "s"} <= markers  # fp32 and int8 drawn with different markers


def test_figures_are_written_as_png(tmp_path):
    a = analyze(zoo_rows(), n_resamples=20)
    for draw, name in ((plots.plot_quality_vs_cost, "q.png"),
                       (plots.plot_quality_vs_size, "s.png")):
        path = draw(a, tmp_path / name)
        assert path.read_bytes()[:4] == b"\x89PNG"
    path = plots.plot_energy_by_family(a.points, tmp_path / "e.png")
    assert path.stat().st_size > 1000
