import math

import pytest

from greenvoc.errors import UsageError
from greenvoc.metrics import METRICS, get_metric, resolve_metrics

EXPECTED_DIRECTION = {
    "dnsmos_ovrl": True, "dnsmos_sig": True, "dnsmos_bak": True, "dnsmos_p808": True,
    "pesq_wb": True, "pesq_nb": True, "stoi": True, "estoi": True, "mcd_db": False,
    "mel_l1": False, "mrstft": False, "f0_rmse_cents": False, "vuv_f1": True,
    "periodicity": False,
}


def test_names_and_directions():
    assert {name: m.higher_is_better for name, m in METRICS.items()} == EXPECTED_DIRECTION


def test_declarations_are_complete():
    for name, m in METRICS.items():
        assert m.name == name
        low, high = m.range
        assert low < high and not math.isnan(low)
        assert m.detail and m.group
        assert m.needs_reference == (not name.startswith("dnsmos"))
        assert m.to_dict()["name"] == name
    assert get_metric("pesq_nb").sample_rate == 8000
    assert get_metric("dnsmos_ovrl").sample_rate == 16000


def test_unknown_metric_lists_the_names():
    with pytest.raises(UsageError, match="pesq_wb") as info:
        get_metric("pesq")
    assert info.value.exit_code == 2
    with pytest.raises(UsageError, match="valid: dnsmos_ovrl"):
        resolve_metrics("stoi,nope")


def test_resolve_keeps_order_and_drops_duplicates():
    chosen = resolve_metrics("stoi, mcd_db,stoi")
    assert [m.name for m in chosen] == ["stoi", "mcd_db"]
    assert len(resolve_metrics(None)) == len(METRICS)
