"""analyze(): aggregation, failures, models without weights, bootstrap confidence, labels."""

from __future__ import annotations

import math

import pytest

from greenvoc.analysis import aggregate, analyze
from greenvoc.errors import UsageError

from .conftest import UTTERANCES, make_row, zoo_rows


def test_aggregate_means_cis_and_failures(rows):
    points = {p.key: p for p in aggregate(rows)}
    melgan = points[("melgan", "fp32")]
    assert melgan.n == len(UTTERANCES) and melgan.n_failed == 1
    assert melgan.get("dnsmos_ovrl") == pytest.approx(2.9, abs=0.05)
    assert 0 < melgan.ci95["dnsmos_ovrl"] < 0.1
    assert melgan.energy_label == "measured (rapl)"
    wavenet = points[("wavenet", "fp32")]
    assert not wavenet.has_weights and math.isnan(wavenet.get("dnsmos_ovrl"))
    assert wavenet.get("energy_j_per_audio_s") > 800


def test_analyze_ranks_with_confidence(rows):
    a = analyze(rows, n_resamples=200)
    by = {m.point.key: m for m in a.models}
    assert {m.point.key for m in a.front} == {("hifigan_v3", "fp32"), ("vocos", "fp32")}
    assert by[("waveglow", "fp32")].rank == 3
    melgan = by[("melgan", "fp32")]
    assert melgan.status == "dominated" and melgan.dominated_confidence >= 0.95
    for m in a.front:
        assert m.efficiency == 1.0 and m.status == "front"
    assert [p.model for p in a.cost_only] == ["wavenet"]  # no weights: cost only
    assert a.n_failed == 1 and a.n_rows == len(rows)
    assert a.energy_warning is None
    hv = a.hypervolume_by_variant
    assert set(hv) == {"fp32", "int8", "*"} and hv["*"] >= hv["fp32"] > hv["int8"] > 0
    again = analyze(rows, n_resamples=200)  # seeded: same answer
    assert [m.p_front for m in again.models] == [m.p_front for m in a.models]


def test_noise_is_not_called_dominated():
    zoo = (("a", "fp32", "x", 3.00, 5.0, True, True), ("b", "fp32", "x", 3.01, 5.0, True, True))
    a = analyze(zoo_rows(noise=0.3, zoo=zoo), n_resamples=300)
    off = [m for m in a.models if not m.on_front]
    assert all(m.status == "uncertain" and not m.dominated for m in off)


def test_mixed_energy_labels_warn():
    rows = [make_row("a", "fp32", "x", u, 3.0, 5.0) for u in UTTERANCES] + [
        make_row("b", "fp32", "y", u, 3.2, 2.0, measured=False) for u in UTTERANCES]
    a = analyze(rows, n_resamples=50)
    assert a.energy_warning and "estimated: b/fp32" in a.energy_warning


def test_weakly_efficient_is_flagged():
    rows = [make_row("m", "fp32", "x", u, 3.4, 5.0) for u in UTTERANCES] + [
        make_row("m", "int8", "x", u, 3.0, 5.0) for u in UTTERANCES]
    a = analyze(rows, cost="params", n_resamples=50)
    int8 = next(m for m in a.models if m.point.variant == "int8")
    assert int8.rank == 2 and int8.efficiency == 1.0 and int8.weakly_efficient


def test_missing_cost_is_unranked_and_bad_flags_are_usage_errors(rows):
    for r in rows:
        if r["model"] == "vocos":
            r["energy_net_j_per_audio_s"] = None
    a = analyze(rows, cost="energy_net_j_per_audio_s", n_resamples=20)
    assert [p.model for p in a.unranked] == ["vocos"]
    with pytest.raises(UsageError, match="valid"):
        analyze(rows, quality="loudness")
    with pytest.raises(UsageError):
        analyze(rows, n_resamples=0)


def test_nonpositive_cost_gets_no_efficiency():
    rows = [make_row("a", "fp32", "x", u, 3.0, 0.0) for u in UTTERANCES] + [
        make_row("b", "fp32", "x", u, 2.0, 1.0) for u in UTTERANCES]
    a = analyze(rows, cost="energy_net_j_per_audio_s", n_resamples=20)
    by = {m.point.model: m for m in a.models}
    assert math.isnan(by["a"].efficiency) and by["a"].rank == 1 and by["b"].rank == 2


def test_a_variant_measured_on_fewer_utterances_is_not_ranked(rows):
    # a sweep stopped after one utterance of a new variant: excellent and cheap on that clip,
    # but its mean is over another set of clips than every other point's
    rows = [*rows, make_row("hifigan_v1", "fp16", "hifigan", UTTERANCES[0], 4.5, 0.5)]
    a = analyze(rows, n_resamples=50)
    assert ("hifigan_v1", "fp16") not in {m.point.key for m in a.models}
    assert ("hifigan_v1", "fp16") in {p.key for p in a.unranked}
    assert {m.point.key for m in a.front} == {("hifigan_v3", "fp32"), ("vocos", "fp32")}
