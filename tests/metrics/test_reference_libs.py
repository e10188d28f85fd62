"""greenvoc's metrics equal the libraries and reference implementations they wrap."""

import numpy as np
import pytest

from greenvoc.audio.io import resample
from greenvoc.metrics import MetricError, get_metric
from greenvoc.metrics.dnsmos import dnsmos_16k

from .conftest import SR, add_noise


@pytest.fixture(scope="module")
def pair(speech):
    clean = speech[:40000]
    return add_noise(clean, 10), clean


def test_pesq_equals_the_pesq_package(pair):
    from pesq import pesq

    est, ref = pair
    assert get_metric("pesq_wb").compute(est, ref, SR) == pesq(SR, ref, est, "wb")
    ref8, est8 = resample(ref, SR, 8000), resample(est, SR, 8000)
    assert get_metric("pesq_nb").compute(est, ref, SR) == pytest.approx(
        pesq(8000, ref8.astype(np.float64), est8.astype(np.float64), "nb"), abs=1e-6
    )


def test_stoi_equals_pystoi(pair):
    from pystoi import stoi

    est, ref = pair
    assert get_metric("stoi").compute(est, ref, SR) == pytest.approx(stoi(ref, est, SR), abs=1e-12)
    estoi = stoi(ref, est, SR, extended=True)
    assert get_metric("estoi").compute(est, ref, SR) == pytest.approx(estoi, abs=1e-12)


def test_pesq_failures_are_errors_not_minus_one(speech):
    with pytest.raises(MetricError, match="NoUtterancesError"):
        get_metric("pesq_wb").compute(np.zeros(SR), np.zeros(SR), SR)
    with pytest.raises(MetricError, match="BufferTooShortError"):
        get_metric("pesq_nb").compute(speech[:2000], speech[:2000], SR)


def test_pesq_refuses_to_upsample(pair):
    est, ref = pair
    with pytest.raises(MetricError, match="16000 Hz"):
        get_metric("pesq_wb").compute(est[::2], ref[::2], 8000)


def test_dnsmos_matches_speechmos_and_ranks_clean_above_noisy(speech):
    from speechmos import dnsmos as reference

    clip = speech[:36800].astype(np.float64)  # 2.3 s: repeated to 9.2 s, one window
    ours = dnsmos_16k(clip)
    theirs = reference.run(clip, SR)
    assert ours["dnsmos_ovrl"] == pytest.approx(theirs["ovrl_mos"], abs=1e-5)
    assert ours["dnsmos_sig"] == pytest.approx(theirs["sig_mos"], abs=1e-5)
    assert ours["dnsmos_bak"] == pytest.approx(theirs["bak_mos"], abs=1e-5)
    assert ours["dnsmos_p808"] == pytest.approx(theirs["p808_mos"], abs=1e-5)
    noisy = dnsmos_16k(add_noise(clip.astype(np.float32), 0))
    assert ours["dnsmos_ovrl"] > noisy["dnsmos_ovrl"] + 0.5
    assert ours["dnsmos_bak"] > noisy["dnsmos_bak"]
