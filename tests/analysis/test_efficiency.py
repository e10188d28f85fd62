"""Efficiency: exactly 1.0 on the front, below 1.0 off it (ties in cost flagged), floors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenvoc.analysis import fdh_efficiency, pareto_ranks, quality_per_cost
from greenvoc.analysis.efficiency import default_floor
from greenvoc.errors import UsageError

#: Enough examples to find ties, no deadline: shared CI machines are slow.
PROPERTY = settings(max_examples=50, deadline=None)

OBJ = ("dnsmos_ovrl", "energy_j_per_audio_s")

continuous = st.lists(st.fixed_dictionaries({
    "dnsmos_ovrl": st.floats(1.0, 5.0),
    "energy_j_per_audio_s": st.floats(1e-3, 1e3),
}), min_size=1, max_size=30)
tied = st.lists(st.fixed_dictionaries({
    "dnsmos_ovrl": st.integers(1, 5).map(float),
    "energy_j_per_audio_s": st.integers(1, 6).map(float),
}), min_size=1, max_size=30)


@PROPERTY
@given(st.one_of(continuous, tied))
def test_efficiency_is_one_on_the_front_and_below_one_off_it(points):
    eff = fdh_efficiency(points, *OBJ)
    for p, r, e in zip(points, pareto_ranks(points, OBJ), eff, strict=True):
        assert 0.0 < e <= 1.0
        if r == 1:
            assert e == 1.0  # exactly
        else:
            # off the front: < 1 unless only a point of equal cost dominates (weakly efficient)
            cheaper_as_good = any(
                q["dnsmos_ovrl"] >= p["dnsmos_ovrl"]
                and q["energy_j_per_audio_s"] < p["energy_j_per_audio_s"] for q in points)
            assert (e < 1.0) == cheaper_as_good


@PROPERTY
@given(st.one_of(continuous, tied))
def test_efficiency_matches_its_definition(points):
    for p, e in zip(points, fdh_efficiency(points, *OBJ), strict=True):
        best = min(q["energy_j_per_audio_s"] for q in points
                   if q["dnsmos_ovrl"] >= p["dnsmos_ovrl"])
        assert e == best / p["energy_j_per_audio_s"]


def test_efficiency_reads_the_direction_of_mcd():
    points = [{"mcd_db": 4.0, "energy_j_per_audio_s": 2.0},   # better and cheaper
              {"mcd_db": 6.0, "energy_j_per_audio_s": 8.0}]
    assert fdh_efficiency(points, "mcd_db", "energy_j_per_audio_s") == [1.0, 0.25]
    # with the direction of DNSMOS the same numbers would make the second point efficient
    flipped = [{"dnsmos_ovrl": 4.0, "energy_j_per_audio_s": 2.0},
               {"dnsmos_ovrl": 6.0, "energy_j_per_audio_s": 8.0}]
    assert fdh_efficiency(flipped, *OBJ) == [1.0, 1.0]


def test_undefined_efficiency_is_nan():
    points = [{"dnsmos_ovrl": 3.0, "energy_j_per_audio_s": 0.0},
              {"dnsmos_ovrl": None, "energy_j_per_audio_s": 1.0},
              {"dnsmos_ovrl": 2.0, "energy_j_per_audio_s": 1.0}]
    eff = fdh_efficiency(points, *OBJ)
    assert math.isnan(eff[0]) and math.isnan(eff[1]) and eff[2] == 1.0


def test_quality_above_floor_per_joule():
    points = [{"dnsmos_ovrl": 3.0, "energy_j_per_audio_s": 4.0, "mcd_db": 6.0}]
    assert default_floor("dnsmos_ovrl") == 1.0
    assert quality_per_cost(points, *OBJ) == [pytest.approx(0.5)]  # (3 - 1) / 4
    assert quality_per_cost(points, "mcd_db", "energy_j_per_audio_s", floor=10.0) == [1.0]
    with pytest.raises(UsageError, match="floor"):
        quality_per_cost(points, "mcd_db", "energy_j_per_audio_s")
