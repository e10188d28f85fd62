"""The projection's arithmetic, on numbers worked out by hand."""

from __future__ import annotations

import pytest

from greenvoc.energy.carbon import CarbonSettings, GridIntensity
from greenvoc.train.projection import project
from greenvoc.train.recipes import RECIPES

CARBON = CarbonSettings(GridIntensity("XX", "Test grid", 500.0, 2024, "test"), 1.0, "test")


def test_hifigan_v1_projection_by_hand():
    rows = project(RECIPES["hifigan-v1"], [10.0, 2.0, 4.0], [5.0, 1.0, 1.0], batch=16,
                   segment=8192, hop=256, carbon=CARBON, energy_label="estimated (estimate)")
    here, *gpus = rows
    # warm-up step left out: 3 J/step × 2.5 M steps = 7.5 MJ = 2.083 kWh; 1 s/step → 694 h
    assert here.energy_kwh == pytest.approx(7.5e6 / 3.6e6)
    assert here.hours == pytest.approx(2.5e6 / 3600)
    assert here.carbon_g == pytest.approx(7.5e6 / 3.6e6 * 500)
    assert all(r.label == "projection" for r in rows)
    v100 = next(r for r in gpus if "V100" in r.scenario and "fp32" in r.scenario)
    # 2.5 M steps × 16 × 32 frames ÷ 3017.57 frames/s = 117.8 h; × 300 W = 35.35 kWh
    hours = 2.5e6 * 16 * 32 / 3017.57 / 3600
    assert v100.hours == pytest.approx(hours)
    assert v100.energy_kwh == pytest.approx(hours * 300 / 1000)
    assert "DeepLearningExamples" in v100.source and "data sheet" in v100.source


def test_smaller_run_scales_linearly_and_says_so():
    (here,) = project(RECIPES["hifigan-v3"], [1.0, 1.0, 1.0], [0.1] * 3, batch=2,
                      segment=4096, hop=256, carbon=CARBON, energy_label="measured (rapl)",
                      overrides={"upsample_initial_channel": 32})
    assert here.energy_kwh == pytest.approx(16 * 2.5e6 / 3.6e6)
    assert "scaled ×16" in here.basis and "not the published model" in here.basis


def test_no_published_steps_no_projection():
    assert project(RECIPES["melgan"], [1.0], [0.1], 16, 8192, 256, CARBON, "x") == []
