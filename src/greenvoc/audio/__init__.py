"""Audio I/O, resampling, corpora and mel front-ends (the layer under metrics and vocoders).

I/O and corpora import numpy only (soundfile/soxr when used); the mel names import torch, so
they load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from greenvoc.audio.corpus import Corpus, Utterance
from greenvoc.audio.formats import CORPUS_FORMATS, open_corpus
from greenvoc.audio.io import Audio, AudioError, check_audio, load_audio, resample, save_audio

_LAZY = {
    "MelConfig": "greenvoc.audio.mel",
    "mel_spectrogram": "greenvoc.audio.mel",
    "MEL_PRESETS": "greenvoc.audio.presets",
    "get_mel_config": "greenvoc.audio.presets",
    "default_corpus": "greenvoc.audio.default",
}

__all__ = [
    "CORPUS_FORMATS",
    "MEL_PRESETS",
    "Audio",
    "AudioError",
    "Corpus",
    "MelConfig",
    "Utterance",
    "check_audio",
    "default_corpus",
    "get_mel_config",
    "load_audio",
    "mel_spectrogram",
    "open_corpus",
    "resample",
    "save_audio",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'greenvoc.audio' has no attribute {name!r}")
