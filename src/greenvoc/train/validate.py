"""Periodic validation on held-out clips: copy-synthesis quality of the generator so far.

mel L1 is greenvoc's metric (:func:`greenvoc.metrics.spectral.mel_l1`: the hifigan front-end
for every model, so values compare across families); DNSMOS OVRL is the registry's metric
(speechmos' ONNX models, 16 kHz). Clips are cut to their first ``max_s`` seconds so that a
validation costs the same whatever the corpus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from greenvoc.audio.mel import MelConfig, mel_spectrogram
from greenvoc.metrics.base import MetricError
from greenvoc.metrics.registry import get_metric
from greenvoc.metrics.spectral import mel_l1
from greenvoc.train.data import Clip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Validation:
    mel_l1: float | None
    dnsmos_ovrl: float | None
    n_clips: int
    per_clip: dict[str, dict[str, float | None]] = field(default_factory=dict)


def _mean(values: list[float | None]) -> float | None:
    ok = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(ok)) if ok else None


def validate(synthesize, clips: tuple[Clip, ...], mel_config: MelConfig, max_s: float = 3.0,
             dnsmos: bool = True) -> Validation:
    """synthesize: mel (1, n_mels, F) → waveform (1, T) at ``mel_config.sample_rate``."""
    rate = mel_config.sample_rate
    per_clip: dict[str, dict[str, float | None]] = {}
    for clip in clips:
        ref = clip.samples[: int(max_s * rate)]
        with torch.no_grad():
            mel = mel_spectrogram(torch.from_numpy(np.ascontiguousarray(ref)), mel_config)
            est = synthesize(mel.unsqueeze(0)).reshape(-1).numpy()
        n = min(len(est), len(ref))
        scores: dict[str, float | None] = {"mel_l1": None, "dnsmos_ovrl": None}
        try:
            scores["mel_l1"] = mel_l1(est[:n], ref[:n], rate)
            if dnsmos:
                scores["dnsmos_ovrl"] = get_metric("dnsmos_ovrl").compute(est[:n], None, rate)
        except MetricError as e:
            log.warning("validation of %s: %s", clip.id, e)
        per_clip[clip.id] = scores
    return Validation(
        mel_l1=_mean([s["mel_l1"] for s in per_clip.values()]),
        dnsmos_ovrl=_mean([s["dnsmos_ovrl"] for s in per_clip.values()]),
        n_clips=len(clips), per_clip=per_clip,
    )
