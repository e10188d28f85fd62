"""P.808 and BS.1534 screening: each rule fires on the rater who breaks it and on no one else."""

from __future__ import annotations

import pytest

from greenvoc.listen.records import REFERENCE, RatingRecord
from greenvoc.listen.screening import (
    drop_training,
    gold_failures,
    mushra_hidden_reference,
    screen,
    trap_failures,
    z_outliers,
    zero_variance_raters,
)


def acr(rater, item, score, kind="rating", expected=None, condition="hifigan/fp32"):
    model, _, variant = condition.partition("/")
    return RatingRecord("s1", rater, "acr", item, condition, model or None, variant or None,
                        item, float(score), kind, expected)


def mushra(rater, item, condition, score):
    return RatingRecord("s2", rater, "mushra", item, condition, None, None, item, float(score))


def raters(records):
    return {r.rater for r in records}


def test_training_records_are_never_counted():
    recs = [acr("r1", "c1", 4), acr("r1", "t1", 1, kind="training")]
    assert drop_training(recs) == recs[:1]
    assert all(r.kind == "rating" for r in screen(recs, "acr").kept)
    assert screen(recs, "acr").exclusions == ()


@pytest.mark.parametrize(("answer", "fails"), [(5, False), (4, False), (3, True), (1, True)])
def test_gold_clip_tolerance_is_one(answer, fails):
    recs = [acr("r1", "g", answer, kind="gold", expected=5), acr("r1", "c1", 3),
            acr("r2", "g", 5, kind="gold", expected=5), acr("r2", "c1", 4)]
    kept, out = gold_failures(recs)
    assert [e.rater for e in out] == (["r1"] if fails else [])
    assert raters(kept) == ({"r2"} if fails else {"r1", "r2"})
    if fails:
        assert out[0].reason == "gold" and f"rated {answer}" in out[0].detail


def test_gold_without_expected_means_the_clean_reference_5():
    _, out = gold_failures([acr("r1", "g", 3, kind="gold")])
    assert out[0].rater == "r1" and "expected 5" in out[0].detail


def test_trap_must_get_exactly_the_asked_score():
    recs = [acr("r1", "trap", 2, kind="trap", expected=2),
            acr("r2", "trap", 3, kind="trap", expected=2)]
    kept, out = trap_failures(recs)
    assert [(e.rater, e.reason) for e in out] == [("r2", "trap")]
    assert raters(kept) == {"r1"}
    assert "asked for 2, rated 3" in out[0].detail


def test_zero_variance_needs_four_identical_ratings():
    flat = [acr("flat", f"c{i}", 4) for i in range(4)]
    short = [acr("short", f"c{i}", 4) for i in range(3)]
    varied = [acr("varied", f"c{i}", 3 + (i == 0)) for i in range(4)]
    kept, out = zero_variance_raters(flat + short + varied)
    assert [(e.rater, e.reason) for e in out] == [("flat", "zero_variance")]
    assert raters(kept) == {"short", "varied"}
    assert "all 4 ratings were 4" in out[0].detail


def test_z_outlier_removes_one_rating_not_the_rater():
    # 13 ratings of one clip: twelve 5s and one 1. Sample sd = sqrt(16*12/13/12),
    # z of the 1 = -(n-1)/sqrt(n) = -12/sqrt(13) = -3.328 <= -3.29.
    recs = [acr(f"r{i:02d}", "c1", 5) for i in range(12)] + [acr("low", "c1", 1),
                                                              acr("low", "c2", 3)]
    kept, out = z_outliers(recs)
    assert [(e.rater, e.reason) for e in out] == [("low", "outlier")]
    assert "z = -3.33" in out[0].detail
    assert len(kept) == 13 and acr("low", "c2", 3) in kept


def test_z_outlier_needs_13_ratings_per_clip():
    # twelve ratings: max |z| = 11/sqrt(12) = 3.175 < 3.29, nothing removed
    recs = [acr(f"r{i:02d}", "c1", 5) for i in range(11)] + [acr("low", "c1", 1)]
    kept, out = z_outliers(recs)
    assert out == [] and kept == recs


def test_mushra_hidden_reference_more_than_15_percent():
    # 10 pages: missing the reference once (10 %) is allowed, twice (20 %) excludes
    def rater(name, missed):
        return [mushra(name, f"p{i}", REFERENCE, 80 if i < missed else 100) for i in range(10)]

    recs = rater("ok", 1) + rater("bad", 2) + [mushra("ok", "p0", "a/b", 40)]
    kept, out = mushra_hidden_reference(recs)
    assert [(e.rater, e.reason) for e in out] == [("bad", "hidden_reference")]
    assert "2 of 10 items" in out[0].detail
    assert raters(kept) == {"ok"}


def test_mushra_reference_at_exactly_90_passes():
    _, out = mushra_hidden_reference([mushra("r", "p1", REFERENCE, 90)])
    assert out == []


def test_screen_unites_rules_and_lists_every_failure():
    recs = ([acr("cheat", f"c{i}", 3) for i in range(5)]
            + [acr("cheat", "g", 1, kind="gold"), acr("cheat", "t", 3, kind="trap", expected=3)]
            + [acr("good", f"c{i}", 2 + i % 3) for i in range(5)]
            + [acr("good", "g", 5, kind="gold"), acr("good", "t", 3, kind="trap", expected=3)])
    s = screen(recs, "acr")
    assert [(e.rater, e.reason) for e in s.exclusions] == [
        ("cheat", "gold"), ("cheat", "zero_variance")]
    assert s.raters_kept == ("good",) and s.raters_excluded == ("cheat",)
    assert len(s.kept) == 5 and all(r.kind == "rating" for r in s.kept)
