"""Listening-test statistics against hand-computed values, and their invariants."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from greenvoc.errors import UsageError
from greenvoc.listen.records import RatingRecord
from greenvoc.listen.stats import (
    binomial_p_value,
    print_summary,
    summarize,
    t_interval,
    wilson_interval,
)

#: Student-t 0.975 quantile with 3 degrees of freedom, from a printed t table.
T975_DF3 = 3.1824


def acr(rater, item, score, condition="hifigan/fp32", kind="rating", expected=None):
    model, _, variant = condition.partition("/")
    return RatingRecord("s1", rater, "acr", item, condition, model, variant, item, float(score),
                        kind, expected)


def ab(rater, item, winner, loser):
    return [RatingRecord("s3", rater, "ab", item, winner, None, None, item, 1.0),
            RatingRecord("s3", rater, "ab", item, loser, None, None, item, 0.0)]


def test_t_interval_of_3_4_5_4_by_hand():
    x = [3, 4, 5, 4]
    mean = sum(x) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in x) / 3)  # sqrt(2/3)
    half = T975_DF3 * sd / math.sqrt(4)
    lo, hi = t_interval(np.array(x, dtype=float))
    assert lo == pytest.approx(mean - half, abs=1e-4)
    assert hi == pytest.approx(mean + half, abs=1e-4)
    assert math.isnan(t_interval(np.array([4.0]))[0])


def test_summary_of_one_condition_matches_hand_values():
    recs = [acr(f"r{i}", "c1", s) for i, s in enumerate([3, 4, 5, 4])]
    s = summarize(recs, "acr", seed=7)
    (c,) = s.conditions
    assert (c.n, c.n_raters, c.mean) == (4, 4, 4.0)
    assert c.sd == pytest.approx(math.sqrt(2 / 3))
    assert c.ci_t[0] == pytest.approx(4 - T975_DF3 * math.sqrt(2 / 3) / 2, abs=1e-4)
    assert 3.0 <= c.ci_bootstrap[0] < 4.0 < c.ci_bootstrap[1] <= 5.0
    assert summarize(recs, "acr", seed=7).to_dict() == s.to_dict()  # seeded: reproducible
    doc = json.loads(json.dumps(s.to_dict()))
    assert doc["conditions"][0]["ci95_t_high"] == pytest.approx(c.ci_t[1])
    assert doc["ci"]["seed"] == 7 and doc["test_type"] == "acr"


def test_bootstrap_agrees_with_t_for_many_ratings():
    rng = np.random.default_rng(1)
    recs = [acr(f"r{i}", f"c{i % 10}", s) for i, s in enumerate(rng.integers(1, 6, 400))]
    (c,) = summarize(recs, "acr", outliers=False).conditions
    assert c.ci_bootstrap[0] == pytest.approx(c.ci_t[0], abs=0.03)
    assert c.ci_bootstrap[1] == pytest.approx(c.ci_t[1], abs=0.03)


def test_screened_raters_and_training_do_not_count():
    recs = ([acr("good", f"c{i}", s) for i, s in enumerate([2, 3, 4, 5])]
            + [acr("good", "g", 5, kind="gold", expected=5)]
            + [acr("deaf", f"c{i}", 1) for i in range(4)]
            + [acr("deaf", "g", 2, kind="gold", expected=5)]
            + [acr("good", "tr", 1, kind="training")])
    s = summarize(recs, "acr")
    (c,) = s.conditions
    assert c.mean == 3.5 and c.n == 4
    assert s.raters_excluded == ("deaf",)
    assert {(e.rater, e.reason) for e in s.exclusions} == {
        ("deaf", "gold"), ("deaf", "zero_variance")}
    out = io.StringIO()
    print_summary(s, Console(file=out, width=200))
    text = out.getvalue()
    assert "hifigan/fp32" in text and "deaf" in text and "gold clip g rated 2" in text


def test_conditions_sorted_best_first_and_clips_listed():
    recs = [acr(f"r{i}", "c1", 2 + i % 2, "melgan/fp32") for i in range(4)]
    recs += [acr(f"r{i}", "c1", 4 + i % 2, "vocos/fp32") for i in range(4)]
    s = summarize(recs, "acr")
    assert [c.condition for c in s.conditions] == ["vocos/fp32", "melgan/fp32"]
    assert [(c.item, c.condition) for c in s.clips] == [("c1", "melgan/fp32"),
                                                        ("c1", "vocos/fp32")]


def test_wilson_8_of_10_matches_the_textbook_interval():
    lo, hi = wilson_interval(8, 10)
    assert (lo, hi) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_binomial_p_value_is_exact():
    # P(X >= 8 | n=10, p=.5) = (45 + 10 + 1) / 1024; two-sided doubles it
    assert binomial_p_value(8, 10) == pytest.approx(2 * 56 / 1024)
    assert binomial_p_value(5, 10) == pytest.approx(1.0)
    assert binomial_p_value(0, 0) == 1.0


def test_ab_preferences_per_pair():
    recs = []
    for i in range(8):
        recs += ab(f"r{i}", "pair1", "vocos/fp32", "hifigan/fp32")
    for i in range(2):
        recs += ab(f"q{i}", "pair2", "hifigan/fp32", "vocos/fp32")
    recs += ab("x", "pair3", "melgan/fp32", "vocos/fp32")
    s = summarize(recs, "ab")
    assert s.conditions == ()
    p1, p2 = s.preferences
    assert (p1.condition_a, p1.condition_b) == ("hifigan/fp32", "vocos/fp32")
    assert (p1.votes_a, p1.votes_b, p1.share_a) == (2, 8, 0.2)
    assert p1.p_value == pytest.approx(2 * 56 / 1024)
    assert p1.wilson[0] == pytest.approx(1 - 0.9433, abs=1e-4)
    assert (p2.condition_a, p2.votes_a, p2.votes_b) == ("melgan/fp32", 1, 0)
    out = io.StringIO()
    print_summary(s, Console(file=out, width=200))
    text = out.getvalue()
    assert "0.109" in text
    # the footer names the interval the table shows, not the t / bootstrap of MOS tables
    assert "Wilson" in text and "binomial" in text and "Student-t" not in text
    header = next(line for line in text.splitlines() if "A votes" in line)
    assert "bootstrap" not in text and "ties" not in header  # forced choice: no ties column


def tie(rater, item, a, b):
    return [RatingRecord("s3", rater, "ab", item, c, None, None, item, 0.5) for c in (a, b)]


def test_ab_ties_are_counted_reported_and_left_out_of_share_and_test():
    recs = []
    for i in range(6):
        recs += ab(f"r{i}", "pair1", "vocos/fp32", "hifigan/fp32")
    for i in range(2):
        recs += ab(f"q{i}", "pair1", "hifigan/fp32", "vocos/fp32")
    for i in range(4):
        recs += tie(f"t{i}", "pair1", "hifigan/fp32", "vocos/fp32")
    s = summarize(recs, "ab", ties_allowed=True)
    (p,) = s.preferences
    assert (p.votes_a, p.votes_b, p.ties, p.n) == (2, 6, 4, 8)
    assert p.share_a == 0.25 and p.wilson == wilson_interval(2, 8)
    assert p.p_value == pytest.approx(binomial_p_value(2, 8))
    doc = s.to_dict()
    assert doc["preferences"][0]["ties"] == 4 and "excluded" in doc["ci"]["ties"]
    out = io.StringIO()
    print_summary(s, Console(file=out, width=200))
    text = out.getvalue()
    assert "ties" in text and "excluded from the share" in text
    # a study that offered ties, asked without saying so, still shows them
    assert summarize(recs, "ab").ties_allowed is True


def test_unknown_test_type_is_a_usage_error():
    with pytest.raises(UsageError, match="acr, mushra, ab"):
        summarize([], "mos")


def test_mushra_summary_excludes_reference_missers():
    recs = []
    for rater, ref in (("ok", 100), ("bad", 60)):
        for page in ("p1", "p2"):
            recs += [RatingRecord("s2", rater, "mushra", page, "reference", None, None, page,
                                  ref),
                     RatingRecord("s2", rater, "mushra", page, "vocos/fp32", "vocos", "fp32",
                                  page, 70.0 if rater == "ok" else 10.0)]
    s = summarize(recs, "mushra")
    assert s.raters_excluded == ("bad",)
    assert {c.condition: c.mean for c in s.conditions} == {"reference": 100.0,
                                                           "vocos/fp32": 70.0}


scores = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(1, 5)),
                  min_size=1, max_size=40)


def _records(triples):
    conds = ("hifigan/fp32", "vocos/fp32", "melgan/int8")
    return [acr(f"r{r}", f"c{i}", s, conds[i % 3]) for r, i, s in triples]


@settings(max_examples=40, deadline=None)
@given(scores)
def test_intervals_bracket_the_mean(triples):
    s = summarize(_records(triples), "acr", n_resamples=200)
    for c in s.conditions + s.clips:
        if c.n >= 2:
            assert c.ci_t[0] <= c.mean + 1e-12 and c.mean - 1e-12 <= c.ci_t[1]
            assert 1 <= c.ci_bootstrap[0] <= c.ci_bootstrap[1] <= 5


@settings(max_examples=25, deadline=None)
@given(scores, st.randoms(use_true_random=False))
def test_record_order_changes_nothing(triples, rnd):
    recs = _records(triples)
    shuffled = list(recs)
    rnd.shuffle(shuffled)
    assert (summarize(shuffled, "acr", n_resamples=100).to_dict()
            == summarize(recs, "acr", n_resamples=100).to_dict())


def test_outlier_removal_is_reported_and_optional():
    recs = [acr(f"r{i:02d}", "c1", 5) for i in range(12)] + [acr("low", "c1", 1)]
    recs += [acr(f"r{i:02d}", "c2", 3 + i % 2) for i in range(12)] + [acr("low", "c2", 4)]
    s = summarize(recs, "acr")
    assert s.n_outliers == 1 and s.raters_excluded == ()
    assert [(e.rater, e.reason) for e in s.exclusions] == [("low", "outlier")]
    assert {c.item: c.n for c in s.clips} == {"c1": 12, "c2": 13}
    assert s.to_dict()["outlier_rule"]["applied"] is True
    off = summarize(recs, "acr", outliers=False)
    assert off.n_outliers == 0 and off.conditions[0].n == 26
    assert off.to_dict()["outlier_rule"]["applied"] is False
