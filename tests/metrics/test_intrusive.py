"""Every intrusive metric: its best value on identical signals, worse as white noise grows."""

import numpy as np
import pytest

from greenvoc.metrics import METRICS

from .conftest import SNRS_DB, SR, add_noise

INTRUSIVE = [m for m in METRICS.values() if m.needs_reference]

BEST = {
    "pesq_wb": (4.64, 1e-2), "pesq_nb": (4.55, 1e-2), "stoi": (1.0, 1e-6),
    "estoi": (1.0, 1e-6), "mcd_db": (0.0, 1e-9), "mel_l1": (0.0, 1e-9), "mrstft": (0.0, 1e-6),
    "f0_rmse_cents": (0.0, 1e-9), "vuv_f1": (1.0, 1e-12), "periodicity": (0.0, 1e-12),
}


@pytest.fixture(scope="module")
def table(speech):
    """metric → [value on identical, value at 30, 15, 5, 0 dB SNR] on 2 s of speech."""
    clean = speech[:32000]
    estimates = [clean] + [add_noise(clean, snr) for snr in SNRS_DB]
    groups = {}
    for metric in INTRUSIVE:
        if metric.group not in groups:
            groups[metric.group] = [metric.compute_group(e, clean, SR) for e in estimates]
    return {m.name: [float(r[m.name]) for r in groups[m.group]] for m in INTRUSIVE}


def test_every_intrusive_metric_is_covered():
    assert set(BEST) == {m.name for m in INTRUSIVE}


@pytest.mark.parametrize("name", sorted(BEST))
def test_best_value_on_identical_signals(table, name):
    best, tol = BEST[name]
    assert table[name][0] == pytest.approx(best, abs=tol)


@pytest.mark.parametrize("name", sorted(BEST))
def test_worse_with_more_noise(table, name):
    values = np.array(table[name])
    sign = 1.0 if METRICS[name].higher_is_better else -1.0
    steps = np.diff(sign * values)
    assert (steps <= 1e-9).all(), f"{name} not monotone over SNR: {values}"
    assert sign * (values[-1] - values[0]) < 0, f"{name} does not degrade: {values}"
    # strictly worse from the identical pair to 30 dB wherever the metric can resolve it
    if name != "vuv_f1":
        assert steps[0] < 0
