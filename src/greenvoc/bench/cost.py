"""Per-model cost facts that do not depend on the utterance: size, MACs, memory."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
from pathlib import Path

import psutil
import torch
from torch.utils.flop_counter import FlopCounterMode

from greenvoc.vocoders.base import Vocoder
from greenvoc.vocoders.registry import weights_path
from greenvoc.vocoders.release import checkpoint_file
from greenvoc.vocoders.torch_vocoder import TorchVocoder

BYTES_PER_FP32 = 4


def bytes_on_disk(voc: Vocoder) -> int:
    """The checkpoint file's size if there is one (inside an unpacked release, the checkpoint
    the loader reads, not its config or statistics), else the fp32 parameters' size."""
    path = weights_path(voc.spec)
    checkpoint = checkpoint_file(Path(path)) if path is not None else None
    if checkpoint is not None:
        return checkpoint.stat().st_size
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


@functools.cache
def _malloc_trim():
    libc = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(libc).malloc_trim if libc else None
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


def release_memory() -> None:
    """Free what Python and the C allocator hold but no longer use, so that the next model's
    resident memory is measured from a fresh baseline (glibc keeps freed heap pages mapped
    until ``malloc_trim``). Objects frozen by ``freeze_heap`` are thawed first."""
    gc.unfreeze()
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def freeze_heap() -> None:
    """Exclude everything alive now (imports, the loaded model) from later garbage collections.

    A full collection before each metered window walks the whole heap: with torch, SQLAlchemy
    and a model loaded that is ~0.2 s per window (a third of a 4 s utterance's synthesis time on
    a small model). Frozen objects are still freed by reference counting; ``release_memory``
    thaws them when the model is unloaded.
    """
    gc.collect()
    gc.freeze()


def rss_bytes() -> int:
    return psutil.Process().memory_info().rss


class PeakRss:
    """Peak resident memory of this process during a block, sampled every ``interval_s``.

    ``peak_bytes`` is the process's high-water mark in the block (everything it holds: torch,
    metric models, earlier models' leftovers); ``growth_bytes`` is the peak above the RSS at
    the block's start, what the block itself added.
    """

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.start_bytes = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    @property
    def growth_bytes(self) -> int:
        return max(0, self.peak_bytes - self.start_bytes)

    def __enter__(self) -> PeakRss:
        self.start_bytes = self._proc.memory_info().rss
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
