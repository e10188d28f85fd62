"""Footprint arithmetic against values worked out by hand, and the input checks."""

from __future__ import annotations

import pytest

from greenvoc.errors import UsageError
from greenvoc.footprint.calculator import estimate_training_footprint
from greenvoc.footprint.equivalents import load_equivalents
from greenvoc.footprint.gpus import gpu_board_power_w, lookup_gpu


def test_eight_v100_for_100_h_in_france_at_pue_1_5():
    fp = estimate_training_footprint("V100", 8, 100, country="FR", pue=1.5)
    # by hand: 8 boards × 300 W × 100 h = 240 kWh drawn; × 1.5 = 360 kWh; × 56.04 g = 20,174.4 g
    assert fp.board_power_w == 300
    assert fp.it_energy_j == pytest.approx(240 * 3.6e6)
    assert fp.energy_kwh == pytest.approx(360.0)
    assert fp.energy_j == pytest.approx(360 * 3.6e6)
    assert fp.intensity_g_per_kwh == pytest.approx(56.04)
    assert fp.carbon_g == pytest.approx(20_174.4)
    assert fp.energy_kind == "estimated"
    assert fp.device_hours == 800


def test_utilisation_scales_and_world_default():
    fp = estimate_training_footprint("T4", 2, 10, utilization=0.5)
    # 2 × 70 W × 0.5 × 10 h = 0.7 kWh; PUE 1.0 and the world average grid by default
    assert fp.energy_kwh == pytest.approx(0.7)
    assert fp.pue == 1.0 and fp.country == "WORLD"
    assert fp.carbon_g == pytest.approx(0.7 * fp.intensity_g_per_kwh)
    assert any("user-supplied" in a for a in fp.assumptions)


def test_equivalents_by_hand():
    fp = estimate_training_footprint("A100", 4, 24, country="US", pue=1.2)
    # 4 × 400 W × 24 h = 38.4 kWh; × 1.2 = 46.08 kWh; × 369.47 g/kWh
    carbon_g = 46.08 * 369.47
    assert fp.carbon_g == pytest.approx(carbon_g)
    eq = {e["key"]: e["amount"] for e in fp.equivalents()}
    assert eq["car_km"] == pytest.approx(carbon_g / 248.5)
    assert eq["tree_year"] == pytest.approx(carbon_g / 11_000)
    assert eq["flight_paris_new_york"] == pytest.approx(carbon_g / 997_500)
    assert eq["household_year"] == pytest.approx(46.08 / 10_791)
    assert eq["smartphone_charge"] == pytest.approx(46.08 / 0.0116)


def test_aliases_and_defaults_named_in_the_table():
    assert gpu_board_power_w("NVIDIA Tesla V100-SXM2") == 300
    assert gpu_board_power_w("v100 pcie") == 250
    assert gpu_board_power_w("h100") == 700
    assert lookup_gpu("2080ti").name == "RTX 2080 Ti"


@pytest.mark.parametrize(("count", "hours", "util"), [(0, 1, None), (-2, 1, None), (1, -1, None),
                                                       (1, float("nan"), None), (1, 1, 1.5)])
def test_bad_numbers_are_usage_errors(count, hours, util):
    with pytest.raises(UsageError):
        estimate_training_footprint("V100", count, hours, utilization=util)


def test_unknown_gpu_lists_close_names():
    with pytest.raises(UsageError, match="V100"):
        lookup_gpu("V1OO")


def test_equivalents_table_has_the_five_issue_units():
    assert {e.key for e in load_equivalents()} == {
        "car_km", "flight_paris_new_york", "household_year", "smartphone_charge", "tree_year"}
