"""Per-model cost facts that do not depend on the utterance: size, MACs, memory."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import torch
from torch.utils.flop_counter import FlopCounterMode

from greenvoc.vocoders.base import Vocoder
from greenvoc.vocoders.registry import weights_path
from greenvoc.vocoders.torch_vocoder import TorchVocoder

BYTES_PER_FP32 = 4


def bytes_on_disk(voc: Vocoder) -> int:
    """The checkpoint's size if there is one, else the fp32 parameters' size."""
    path = weights_path(voc.spec)
    if path is not None and Path(path).is_file():
        return Path(path).stat().st_size
    return voc.params() * BYTES_PER_FP32


def macs_per_audio_s(voc: Vocoder, frames: int = 32) -> float | None:
    """Multiply-accumulates per second of audio, counted by torch's FLOP counter on a
    ``frames``-frame mel (FLOPs / 2). None for models torch cannot count (DSP in numpy)."""
    if not isinstance(voc, TorchVocoder):
        return None
    mel = torch.full((1, voc.mel_config.n_mels, frames), -4.0, device=voc.device)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        voc.module(mel)
    audio_s = frames * voc.hop_length / voc.sample_rate
    return counter.get_total_flops() / 2 / audio_s


class PeakRss:
    """Peak resident memory of this process during a block, sampled every ``interval_s``."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
