"""Pairing: an estimate much shorter or longer than its reference is an error, not a score of
the overlap; a difference of the size a vocoder makes (≤ one hop) is scored."""

import numpy as np
import pytest

from greenvoc.metrics import score_folders, score_pair
from greenvoc.metrics.pairing import (
    MAX_LENGTH_DIFF_S,
    LengthMismatch,
    Signal,
    check_lengths,
    common_rate,
    load_signal,
)

from .conftest import SR, write

CHEAP = "stoi,pesq_wb"
HOP = 256


@pytest.fixture(scope="module")
def clean(speech):
    return speech[:48000]  # 3 s


def test_a_half_length_estimate_is_an_error_naming_both_lengths_and_files(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    half = write(tmp_path / "half.wav", clean[:24000])
    s = score_pair(half, ref, CHEAP)
    assert s.metrics == {"stoi": None, "pesq_wb": None}  # not PESQ 4.64 and STOI 1.0
    for part in ("half.wav", "ref.wav", "24000 samples (1.500 s)", "48000 samples (3.000 s)",
                 "shorter", "20 ms"):
        assert part in s.error


def test_a_padded_estimate_is_an_error_too(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    padded = write(tmp_path / "padded.wav", np.concatenate([clean, clean[:8000]]))
    s = score_pair(padded, ref, CHEAP)
    assert s.error is not None and "8000 samples (500.0 ms) longer" in s.error


@pytest.mark.parametrize("diff", [-HOP, HOP])
def test_one_hop_of_difference_is_scored(tmp_path, clean, diff):
    ref = write(tmp_path / "ref.wav", clean)
    est = clean[:diff] if diff < 0 else np.concatenate([clean, np.zeros(diff, np.float32)])
    s = score_pair(write(tmp_path / "est.wav", est), ref, CHEAP)
    assert s.error is None and s.errors == {}
    assert s.metrics["stoi"] > 0.99 and s.metrics["pesq_wb"] > 4.4
    assert s.duration_s == pytest.approx(min(len(est), len(clean)) / SR)


def test_the_tolerance_is_a_parameter(tmp_path, clean):
    ref = write(tmp_path / "ref.wav", clean)
    est = write(tmp_path / "est.wav", clean[:-800])  # 50 ms short
    assert score_pair(est, ref, CHEAP).error is not None
    assert score_pair(est, ref, CHEAP, max_length_diff_s=0.1).error is None
    assert score_pair(est, ref, CHEAP, max_length_diff_s=0.01).error is not None


def test_lengths_are_compared_at_the_common_rate(tmp_path, clean):
    """A 24 kHz estimate of a 16 kHz reference is as long in seconds: no error."""
    from greenvoc.audio.io import resample

    ref = write(tmp_path / "ref.wav", clean)
    est = write(tmp_path / "est24k.wav", resample(clean, SR, 24000), sr=24000)
    e, r, _ = common_rate(load_signal(est), load_signal(ref))
    check_lengths(e, r)
    assert score_pair(est, ref, "stoi").error is None


def test_check_lengths_bounds():
    rate = 22050
    ref = Signal(np.zeros(rate, np.float32), rate, source="r.wav")
    limit = int(MAX_LENGTH_DIFF_S * rate)
    check_lengths(Signal(np.zeros(rate + limit, np.float32), rate), ref)
    with pytest.raises(LengthMismatch, match="estimate: 22492 samples"):
        check_lengths(Signal(np.zeros(rate + limit + 1, np.float32), rate), ref)
    with pytest.raises(ValueError, match="common_rate"):
        check_lengths(Signal(np.zeros(16000, np.float32), 16000), ref)


def test_folders_report_the_mismatch_per_file(tmp_path, clean):
    for name in ("a", "b"):
        write(tmp_path / "ref" / f"{name}.wav", clean)
    write(tmp_path / "est" / "a.wav", clean)
    write(tmp_path / "est" / "b.wav", clean[:16000])
    by_name = {s.name: s for s in score_folders(tmp_path / "ref", tmp_path / "est", "stoi",
                                                workers=1, progress=False)}
    assert by_name["a"].error is None and by_name["a"].metrics["stoi"] == pytest.approx(1.0)
    assert "16000 samples" in by_name["b"].error and by_name["b"].metrics == {"stoi": None}
