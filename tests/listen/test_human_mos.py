"""Screened human ratings become the result-row columns human_mos and human_mushra."""

from __future__ import annotations

from greenvoc.listen.human_mos import attach_human_mos
from greenvoc.listen.records import REFERENCE, RatingRecord


def rating(rater, model, utt, score, *, test="acr", kind="rating", run=1, study="s1",
           expected=None):
    cond = f"{model}/fp32" if model else REFERENCE
    return RatingRecord(study, rater, test, f"{cond}:{utt}", cond, model,
                        "fp32" if model else None, utt, float(score), kind, expected, run)


def row(model, utt, run=1):
    return {"run": run, "model": model, "variant": "fp32", "utterance": utt, "energy_j": 1.0}


def test_mean_of_screened_ratings_per_model_variant_utterance():
    records = [rating("a", "vocos", "u1", 4), rating("b", "vocos", "u1", 5),
               rating("a", "vocos", "u2", 2), rating("b", "vocos", "u2", 3),
               rating("a", None, "u1", 5),  # the reference attaches to no row
               rating("a", "vocos", "u9", 1, kind="training"),
               # "c" fails the gold clip: none of its ratings count
               rating("c", "vocos", "u1", 1), rating("c", None, "g", 2, kind="gold",
                                                     expected=5)]
    rows = [row("vocos", "u1"), row("vocos", "u2"), row("vocos", "u9"), row("melgan", "u1")]
    out = attach_human_mos(rows, records)
    assert [r["human_mos"] for r in out] == [4.5, 2.5, None, None]
    assert all(r["human_mushra"] is None for r in out)
    assert out[0]["energy_j"] == 1.0 and "human_mos" not in rows[0]  # copies, inputs untouched


def test_records_of_another_run_do_not_attach():
    records = [rating("a", "vocos", "u1", 4, run=1), rating("a", "vocos", "u1", 2, run=2),
               rating("b", "vocos", "u1", 3, run=None)]
    out = attach_human_mos([row("vocos", "u1", run=1)], records)
    assert out[0]["human_mos"] == 3.5  # (4 + 3) / 2: run 1 and the run-less record


def test_mushra_ratings_fill_human_mushra_after_post_screening():
    records = []
    for rater, ref, score in (("ok", 100, 80), ("bad", 50, 20)):
        records += [rating(rater, None, "u1", ref, test="mushra", study="m"),
                    rating(rater, "vocos", "u1", score, test="mushra", study="m")]
    out = attach_human_mos([row("vocos", "u1")], records)
    assert out[0]["human_mushra"] == 80.0 and out[0]["human_mos"] is None


def test_studies_are_screened_apart():
    # the same rater id in two studies: failing the gold clip in one study costs only that one
    records = [rating("a", "vocos", "u1", 4, study="s1"),
               rating("a", None, "g", 1, kind="gold", expected=5, study="s1"),
               rating("a", "vocos", "u1", 2, study="s2")]
    assert attach_human_mos([row("vocos", "u1")], records)[0]["human_mos"] == 2.0
