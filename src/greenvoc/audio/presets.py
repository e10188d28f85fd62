"""The mel front-ends of the vocoders greenvoc measures, keyed by name.

Each preset reproduces its reference implementation; the facts were read from these files
(repository @ commit: path):

``hifigan``
    jik876/hifi-gan @ 4769534: ``config_v1.json`` (22050 Hz, n_fft 1024, hop 256, win 1024, 80
    mels, fmin 0, fmax 8000) and ``meldataset.py::mel_spectrogram`` (librosa Slaney basis with
    area normalisation; reflect pad (n_fft−hop)/2; ``torch.stft(center=False)``, Hann;
    ``sqrt(re²+im²+1e-9)``; ``log(clamp(x, 1e-5))``). V2 and V3 share the front-end.
``vocos``
    gemelo-ai/vocos @ c859e3b: ``configs/vocos.yaml`` (24000 Hz, n_fft 1024, hop 256, 100 mels,
    padding "center") and ``vocos/feature_extractors.py::MelSpectrogramFeatures``: torchaudio
    ``MelSpectrogram(power=1)`` with its defaults (pytorch/audio
    ``src/torchaudio/transforms/_transforms.py``: win n_fft, Hann, fmin 0, fmax sr/2,
    ``center=True``, reflect, ``norm=None``, ``mel_scale="htk"``), then
    ``vocos/modules.py::safe_log`` = ``log(clip(x, 1e-7))``. torchaudio's HTK filterbank equals
    ``librosa.filters.mel(htk=True, norm=None)`` (same triangles on the same frequency grid).
``bigvgan-22k-80``, ``bigvgan-24k-100``, ``bigvgan-v2-22k-80``, ``bigvgan-v2-44k-128``
    NVIDIA/BigVGAN @ 7d2b454: ``meldataset.py::mel_spectrogram`` is HiFi-GAN's recipe (Slaney
    basis, reflect pad (n_fft−hop)/2, center=False, ``sqrt(·+1e-9)``, ``log(clamp(x, 1e-5))``).
    ``configs/bigvgan_22khz_80band.json``, ``bigvgan_base_22khz_80band.json`` and
    ``bigvgan_v2_22khz_80band_fmax8k_256x.json``: 22050 Hz, 1024/256/1024, 80 mels, fmax 8000.
    ``configs/bigvgan_24khz_100band.json`` (and ``_base_``, ``bigvgan_v2_24khz_100band_256x.json``
    with fmax null = sr/2): 24000 Hz, 1024/256/1024, 100 mels, fmax 12000.
    ``configs/bigvgan_v2_22khz_80band_256x.json``: as the 22 kHz one but fmax null (11025 Hz).
    ``configs/bigvgan_v2_44khz_128band_256x.json``: 44100 Hz, 1024/256/1024, 128 mels, fmax
    null (22050 Hz).
``pwg``
    kan-bayashi/ParallelWaveGAN @ 8674037: ``egs/ljspeech/voc1/conf/parallel_wavegan.v1.yaml``
    (22050 Hz, fft 1024, hop 256, win null = 1024, Hann, 80 mels, fmin 80, fmax 7600) and
    ``parallel_wavegan/bin/preprocess.py::logmelfilterbank`` (``librosa.stft`` with its default
    ``center=True``, reflect; ``np.abs``; librosa Slaney basis; ``log10(maximum(1e-10, mel))``).
    The recipe then standardises each band with the training set's ``stats.h5`` (``mean``,
    ``scale``: ``bin/normalize.py``); pass them as ``mel_mean``/``mel_std`` with
    :func:`dataclasses.replace` when a checkpoint ships them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from greenvoc.audio.mel import MelConfig
from greenvoc.errors import UsageError


def _hifigan_recipe(sample_rate: int, n_mels: int, fmax: float | None) -> MelConfig:
    n_fft, hop = 1024, 256
    return MelConfig(
        sample_rate=sample_rate,
        n_fft=n_fft,
        hop_length=hop,
        win_length=1024,
        n_mels=n_mels,
        fmin=0.0,
        fmax=fmax,
        mel_scale="slaney",
        mel_norm="slaney",
        window="hann",
        center=False,
        pad_mode="reflect",
        padding=(n_fft - hop) // 2,
        magnitude="abs",
        magnitude_eps=1e-9,
        log_base="e",
        clamp_min=1e-5,
    )


_VOCOS = MelConfig(
    sample_rate=24000,
    n_fft=1024,
    hop_length=256,
    win_length=1024,
    n_mels=100,
    fmin=0.0,
    fmax=None,
    mel_scale="htk",
    mel_norm=None,
    window="hann",
    center=True,
    pad_mode="reflect",
    padding=0,
    magnitude="abs",
    magnitude_eps=0.0,
    log_base="e",
    clamp_min=1e-7,
)

_PWG = MelConfig(
    sample_rate=22050,
    n_fft=1024,
    hop_length=256,
    win_length=1024,
    n_mels=80,
    fmin=80.0,
    fmax=7600.0,
    mel_scale="slaney",
    mel_norm="slaney",
    window="hann",
    center=True,
    pad_mode="reflect",
    padding=0,
    magnitude="abs",
    magnitude_eps=0.0,
    log_base="10",
    clamp_min=1e-10,
)

#: Preset name → config. Read-only; derive variants with :func:`dataclasses.replace`.
MEL_PRESETS: Mapping[str, MelConfig] = MappingProxyType(
    {
        "hifigan": _hifigan_recipe(22050, 80, 8000.0),
        "vocos": _VOCOS,
        "bigvgan-22k-80": _hifigan_recipe(22050, 80, 8000.0),
        "bigvgan-v2-22k-80": _hifigan_recipe(22050, 80, None),
        "bigvgan-24k-100": _hifigan_recipe(24000, 100, 12000.0),
        "bigvgan-v2-44k-128": _hifigan_recipe(44100, 128, None),
        "pwg": _PWG,
    }
)

#: Preset name → the public file(s) its values were checked against.
MEL_PRESET_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "hifigan": "jik876/hifi-gan config_v1.json, meldataset.py",
        "vocos": "gemelo-ai/vocos configs/vocos.yaml, vocos/feature_extractors.py, "
        "vocos/modules.py",
        "bigvgan-22k-80": "NVIDIA/BigVGAN configs/bigvgan_22khz_80band.json, meldataset.py",
        "bigvgan-v2-22k-80": "NVIDIA/BigVGAN configs/bigvgan_v2_22khz_80band_256x.json",
        "bigvgan-24k-100": "NVIDIA/BigVGAN configs/bigvgan_24khz_100band.json, meldataset.py",
        "bigvgan-v2-44k-128": "NVIDIA/BigVGAN configs/bigvgan_v2_44khz_128band_256x.json",
        "pwg": "kan-bayashi/ParallelWaveGAN egs/ljspeech/voc1/conf/parallel_wavegan.v1.yaml, "
        "parallel_wavegan/bin/preprocess.py",
    }
)


def get_mel_config(name: str) -> MelConfig:
    """The preset called ``name``; :class:`UsageError` listing the valid names otherwise."""
    try:
        return MEL_PRESETS[name]
    except KeyError:
        raise UsageError(
            f"unknown mel preset {name!r}; valid: {', '.join(sorted(MEL_PRESETS))}"
        ) from None
