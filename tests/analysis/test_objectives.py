"""Objective directions come from declarations: cost columns lower, metrics from the registry."""

from __future__ import annotations

import pytest

from greenvoc.analysis import COST_OBJECTIVES, get_objective, pareto_front
from greenvoc.analysis.objectives import objective_names, resolve_objectives
from greenvoc.errors import UsageError
from greenvoc.metrics.registry import METRICS


def test_cost_columns_are_lower_is_better_with_units():
    assert set(COST_OBJECTIVES) == {
        "energy_j_per_audio_s", "energy_net_j_per_audio_s", "rtf", "params", "bytes_on_disk",
        "macs_per_audio_s", "peak_rss_bytes"}
    for o in COST_OBJECTIVES.values():
        assert not o.higher_is_better and o.unit and o.kind == "cost"


@pytest.mark.parametrize("name", list(METRICS))
def test_quality_direction_is_the_metric_declaration(name):
    assert get_objective(name).higher_is_better is METRICS[name].higher_is_better
    assert get_objective(name, "quality").kind == "quality"


def test_unknown_column_lists_the_valid_ones():
    with pytest.raises(UsageError) as e:
        get_objective("loudness")
    for name in ("energy_j_per_audio_s", "dnsmos_ovrl", "mcd_db"):
        assert name in str(e.value)
    with pytest.raises(UsageError, match="unknown cost column"):
        get_objective("dnsmos_ovrl", "cost")
    with pytest.raises(UsageError, match="unknown quality metric"):
        get_objective("rtf", "quality")
    assert "rtf" in objective_names("cost") and "rtf" not in objective_names("quality")


def test_objective_count_is_checked():
    with pytest.raises(UsageError, match="2 or 3"):
        resolve_objectives(["rtf"])
    with pytest.raises(UsageError, match="repeat"):
        resolve_objectives(["rtf", "rtf"])


def test_mcd_lower_is_better_flips_the_front():
    points = [
        {"name": "a", "dnsmos_ovrl": 3.0, "mcd_db": 4.0, "energy_j_per_audio_s": 1.0},
        {"name": "b", "dnsmos_ovrl": 4.0, "mcd_db": 8.0, "energy_j_per_audio_s": 1.0},
    ]
    # same cost: DNSMOS (higher better) keeps b, MCD (lower better) keeps a
    assert [p["name"] for p in pareto_front(points, ["dnsmos_ovrl", "energy_j_per_audio_s"])] \
        == ["b"]
    assert [p["name"] for p in pareto_front(points, ["mcd_db", "energy_j_per_audio_s"])] == ["a"]
