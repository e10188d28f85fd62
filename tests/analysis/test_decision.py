"""Which vocoder? The cheapest ranked model meeting each requirement, ties, cost-only models never
recommended, and how sure each pick is (rows built on the spot; see conftest.ZOO)."""

from __future__ import annotations

import pytest

from greenvoc.analysis.decision import decide
from greenvoc.analysis.study import analyze
from greenvoc.errors import UsageError

from .conftest import UTTERANCES, make_row, zoo_rows


def picks(decisions) -> dict[str, str | None]:
    return {d.requirement: d.pick.point.label if d.pick else None for d in decisions}


def test_cheapest_model_meeting_each_floor():
    a = analyze(zoo_rows(), n_resamples=100)
    # dnsmos / J/s: v3 3.0/2, melgan 2.9/3, vocos 3.5/4, v1-int8 3.3/6, v1 3.4/12, waveglow 3.2/40
    floor = {f: d for f, d in zip((2.95, 3.1, 3.6), decide(a, floors=(2.95, 3.1, 3.6))[:3],
                                  strict=True)}
    assert floor[2.95].pick.point.label == "hifigan_v3/fp32"
    assert floor[3.1].pick.point.label == "vocos/fp32"
    assert floor[3.6].pick is None and floor[3.6].certainty == "no ranked model meets it"
    # vocos is the best quality: v3 is 2x cheaper than it, vocos 1x
    assert floor[2.95].times_cheaper == pytest.approx(2.0, rel=0.05)
    assert floor[3.1].times_cheaper == 1.0
    lo, hi = floor[2.95].times_cheaper_ci
    assert 0 < lo <= floor[2.95].times_cheaper <= hi
    assert floor[2.95].sure and "same pick in 100% of resamples" in floor[2.95].certainty
    assert "dominated beyond noise" in floor[3.1].certainty


def test_front_levels_best_first_and_budgets():
    a = analyze(zoo_rows(), n_resamples=100)
    decisions = decide(a, budgets=(5.0, 3.5, 1.0))
    assert [d.kind for d in decisions] == ["budget"] * 3 + ["front"] * 2
    got = picks(decisions)
    assert list(got.values()) == ["vocos/fp32", "hifigan_v3/fp32", None, "vocos/fp32",
                                  "hifigan_v3/fp32"]
    assert "as good as vocos/fp32" in decisions[3].requirement


def test_models_with_cost_only_are_never_recommended():
    # a model without weights, cheaper than every other and with a (bogus) quality column
    zoo = (("cheap", "fp32", "x", 5.0, 0.5, True, False),
           ("real", "fp32", "y", 3.0, 8.0, True, True))
    a = analyze(zoo_rows(zoo=zoo), n_resamples=50)
    assert "cheap" in {p.model for p in a.cost_only}
    decisions = decide(a, floors=(1.0,), budgets=(100.0,))
    assert {d.pick.point.model for d in decisions} == {"real"}
    assert decide(analyze(zoo_rows(zoo=zoo[:1]), n_resamples=10), floors=(1.0,)) == []


def test_ties_pick_the_better_quality_then_the_first_name():
    rows = [make_row(m, "fp32", "f", u, q, e) for m, q, e in
            (("b", 3.0, 2.0), ("a", 3.0, 2.0), ("c", 3.2, 2.0), ("d", 3.0, 5.0))
            for u in UTTERANCES]
    a = analyze(rows, n_resamples=50)
    d = decide(a, floors=(2.5,))[0]
    assert d.pick.point.model == "c"  # equal cost: the better quality
    rows = [r for r in rows if r["model"] != "c"]
    (d, *_) = decide(analyze(rows, n_resamples=50), floors=(2.5,))
    assert d.pick.point.model == "a" and d.ties == ("b/fp32",)
    assert "tied with b/fp32" in d.certainty


def test_a_pick_within_noise_is_called_uncertain():
    # two models 0.02 MOS apart with a 0.3 MOS spread over 8 clips: the floor between them
    rows = zoo_rows(noise=0.3, zoo=(("lo", "fp32", "f", 3.40, 2.0, True, True),
                                    ("hi", "fp32", "f", 3.42, 2.1, True, True),
                                    ("top", "fp32", "f", 4.0, 30.0, True, True)))
    a = analyze(rows, n_resamples=200)
    means = {p.model: p.get("dnsmos_ovrl") for p in a.points}
    floor = (means["lo"] + means["hi"]) / 2
    d = decide(a, floors=(floor,))[0]
    assert not d.sure and d.certainty.startswith("uncertain: same pick in only")
    assert d.runner_up is not None


def test_lower_is_better_quality_floor_is_a_ceiling():
    a = analyze(zoo_rows(), quality="mcd_db", n_resamples=50)  # mcd = 10 − 2·dnsmos
    (d, *_) = decide(a, floors=(4.1,))
    assert d.requirement.startswith("mcd_db ≤ 4.1") and d.pick.point.model == "hifigan_v3"


def test_a_budget_needs_an_energy_cost():
    a = analyze(zoo_rows(), cost="rtf", n_resamples=10)
    with pytest.raises(UsageError, match="--cost energy_j_per_audio_s"):
        decide(a, budgets=(5.0,))
