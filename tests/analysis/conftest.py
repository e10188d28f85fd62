"""Result rows built on the spot: a small zoo of (model, variant) with known quality and cost."""

from __future__ import annotations

import numpy as np
import pytest

UTTERANCES = tuple(f"arctic_a{i:04d}" for i in range(1, 9))

#: (model, variant, family, dnsmos mean, energy J/s mean, measured, has_weights)
ZOO = (
    ("hifigan_v1", "fp32", "hifigan", 3.4, 12.0, True, True),
    ("hifigan_v1", "int8", "hifigan", 3.3, 6.0, True, True),
    ("hifigan_v3", "fp32", "hifigan", 3.0, 2.0, True, True),
    ("melgan", "fp32", "melgan", 2.9, 3.0, True, True),      # dominated by hifigan_v3
    ("waveglow", "fp32", "flow", 3.2, 40.0, True, True),     # dominated by hifigan_v1 int8
    ("vocos", "fp32", "vocos", 3.5, 4.0, True, True),
    ("wavenet", "fp32", "autoregressive", 0.0, 900.0, True, False),  # no weights: cost only
)


def make_row(model, variant, family, utt, dnsmos, energy, *, measured=True, has_weights=True,
             error=None, run=1, **extra) -> dict:
    row = {
        "run": run, "model": model, "variant": variant, "family": family, "utterance": utt,
        "audio_s": 2.0, "compute_s": 0.1 * energy / 10, "rtf": energy / 100.0,
        "energy_j": energy * 2.0, "energy_j_per_audio_s": energy,
        "energy_net_j_per_audio_s": energy * 0.8, "energy_measured": measured,
        "energy_method": "rapl" if measured else "tdp", "params": int(energy * 1e5),
        "bytes_on_disk": int(energy * 4e5), "macs_per_audio_s": energy * 1e8,
        "peak_rss_bytes": 5e8, "has_weights": has_weights, "error": error,
    }
    from greenvoc.metrics.registry import metric_names

    for name in metric_names():
        row[name] = None
    if has_weights and error is None:
        row["dnsmos_ovrl"] = dnsmos
        row["mcd_db"] = 10.0 - 2.0 * dnsmos
    row.update(extra)
    return row


def zoo_rows(seed: int = 0, noise: float = 0.02, zoo=ZOO) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for model, variant, family, q, e, measured, weights in zoo:
        for utt in UTTERANCES:
            rows.append(make_row(model, variant, family, utt, q + noise * rng.standard_normal(),
                                 e * (1 + noise * rng.standard_normal()), measured=measured,
                                 has_weights=weights))
    rows.append(make_row("melgan", "fp32", "melgan", "broken", None, 1.0,
                         error="RuntimeError: CUDA out of memory"))
    return rows


RUN_INFO = {
    "run": 1, "config": {"models": ["hifigan_v1"], "corpus": "default"},
    "hardware": {"cpu": "Test CPU <script>", "gpu": None}, "versions": {"torch": "2.5"},
    "git_commit": "abc123", "seed": 0, "idle_power_w": 12.5,
}


@pytest.fixture
def rows() -> list[dict]:
    return zoo_rows()
