"""The runner: pairing, alignment, bad input reported per file, summaries."""

import math

import numpy as np
import pytest
import soundfile as sf

from greenvoc.errors import UsageError
from greenvoc.metrics import FileScore, score_folders, score_pair, summarize
from greenvoc.metrics.pairing import align

from .conftest import SR, add_noise, write

CHEAP = "stoi,mrstft,pesq_wb"


@pytest.fixture(scope="module")
def clean(speech):
    return speech[:32000]


def test_identical_files_score_best(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    s = score_pair(ref, ref, CHEAP)
    assert s.error is None and s.errors == {} and s.offset_samples == 0
    assert s.metrics["stoi"] == pytest.approx(1.0)
    assert s.metrics["mrstft"] == pytest.approx(0.0, abs=1e-6)
    assert s.sample_rate == SR and s.duration_s == pytest.approx(2.0)


def test_a_delayed_estimate_is_aligned_and_the_offset_recorded(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    est = write(tmp_path / "est.wav", np.concatenate([np.zeros(40, np.float32), clean]))
    s = score_pair(est, ref, CHEAP)
    assert s.offset_samples == 40
    assert s.metrics["stoi"] == pytest.approx(1.0)
    early = write(tmp_path / "early.wav", clean[25:])
    assert score_pair(early, ref, CHEAP).offset_samples == -25


def test_align_trims_to_the_shorter():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(1000)
    est, ref2, offset = align(np.concatenate([np.zeros(7), ref, np.zeros(50)]), ref, 16)
    assert offset == 7 and len(est) == len(ref2) == 1000
    np.testing.assert_array_equal(est, ref2)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: sf.write(p, np.zeros(0, np.float32), SR), "no samples"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00junk" * 10), "cannot decode"),
        (lambda p: sf.write(p, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT"), "NaN"),
        (lambda p: sf.write(p, np.zeros(SR, np.float32), SR), "silent"),
    ],
    ids=["empty", "corrupt", "nan", "silent"],
)
def test_bad_estimates_are_per_file_errors(tmp_path, clean, make, reason):
    ref = write(tmp_path / "ref" / "a.wav", clean)
    write(tmp_path / "ref" / "b.wav", clean)
    write(tmp_path / "est" / "a.wav", clean)
    bad = tmp_path / "est" / "b.wav"
    make(bad)
    scores = score_folders(ref.parent, bad.parent, "stoi", workers=1, progress=False)
    by_name = {s.name: s for s in scores}
    assert by_name["a"].error is None and by_name["a"].metrics["stoi"] == pytest.approx(1.0)
    assert reason in by_name["b"].error and "b.wav" in by_name["b"].error
    assert by_name["b"].metrics == {"stoi": None}


def test_multichannel_is_mixed_down_and_noted(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    est = write(tmp_path / "est.wav", np.stack([clean, clean], axis=1))
    s = score_pair(est, ref, "stoi")
    assert s.metrics["stoi"] == pytest.approx(1.0)
    assert any("2 channels" in note for note in s.notes)


def test_a_rate_a_metric_cannot_use_fails_that_metric_only(tmp_path, clean):
    from greenvoc.audio.io import resample

    low = resample(clean, SR, 8000)
    ref, est = write(tmp_path / "r.wav", low, 8000), write(tmp_path / "e.wav", low, 8000)
    s = score_pair(est, ref, "pesq_wb,pesq_nb")
    assert s.metrics["pesq_wb"] is None and "16000 Hz" in s.errors["pesq_wb"]
    assert s.metrics["pesq_nb"] > 4.0


def test_mismatched_folders(tmp_path, clean):
    write(tmp_path / "ref" / "a.wav", clean)
    write(tmp_path / "est" / "z.wav", clean)
    with pytest.raises(UsageError, match="namesake"):
        score_folders(tmp_path / "ref", tmp_path / "est", "stoi", progress=False)
    write(tmp_path / "est" / "a.flac", clean)
    scores = score_folders(tmp_path / "ref", tmp_path / "est", "stoi", workers=1, progress=False)
    assert [(s.name, s.error is None) for s in scores] == [("a", True), ("z", False)]
    assert "no reference named z" in scores[1].error
    with pytest.raises(UsageError, match="two files or two folders"):
        score_folders(tmp_path / "ref", tmp_path / "est" / "a.flac", "stoi", progress=False)


def test_process_pool_gives_the_in_process_results(tmp_path, clean):
    for i, snr in enumerate((20, 10, 5)):
        write(tmp_path / "ref" / f"u{i}.wav", clean)
        write(tmp_path / "est" / f"u{i}.wav", add_noise(clean, snr, seed=i))
    args = (tmp_path / "ref", tmp_path / "est", "stoi")
    pooled = score_folders(*args, workers=2, progress=False)
    local = score_folders(*args, workers=1, progress=False)
    assert [s.name for s in pooled] == ["u0", "u1", "u2"]
    for a, b in zip(pooled, local, strict=True):
        assert a.metrics == pytest.approx(b.metrics, rel=1e-6)


def test_summarize_excludes_failures_and_uses_student_t():
    scores = [
        FileScore("a", {"m": 1.0}), FileScore("b", {"m": 2.0}), FileScore("c", {"m": 4.0}),
        FileScore("d", {"m": None}, {"m": "failed"}), FileScore("e", {}, error="unreadable"),
    ]
    s = summarize(scores)["m"]
    assert s.mean == pytest.approx(7 / 3) and s.n == 3 and s.n_failed == 2
    sd = np.std([1.0, 2.0, 4.0], ddof=1)
    assert s.ci95 == pytest.approx(4.302652729911275 * sd / math.sqrt(3))
    single = summarize([FileScore("a", {"m": 1.0})])["m"]
    assert single.n == 1 and math.isnan(single.ci95)
