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
``diffwave``
    lmnt-com/diffwave @ 0594106: ``src/diffwave/preprocess.py::transform``: torchaudio
    ``MelSpectrogram(sample_rate 22050, n_fft 1024, win_length 4·hop = 1024, hop 256, f_min 20,
    f_max sr/2, n_mels 80, power 1.0, normalized=True)`` (so: Hann, centred, reflect, HTK
    filterbank without area norm, STFT divided by ‖window‖₂), then ``20·log10(clamp(x, 1e-5))
    − 20`` and ``clamp((x + 100)/100, 0, 1)``.
``wavenet-r9y9``
    r9y9/wavenet_vocoder @ 2092a64: ``hparams.py`` (22050 Hz, fft_size 1024, hop 256, 80 mels,
    fmin 125, fmax 7600, ref_level_db 20, min_level_db −100, rescaling to a peak of 0.999) and
    ``audio.py::melspectrogram``: ``lws.lws(1024, 256, mode="speech").stft`` (lws 1.2
    ``python/lws.pyx``: √Hann window normalised for perfect reconstruction, 768 zeros before
    the signal), ``|·|``, librosa Slaney basis, ``20·log10(max(1e-5, x)) − 20``, then
    ``clip((S + 100)/100, 0, 1)``. T samples give 3 + ⌈T/256⌉ frames.
``wavegrad``
    ivanvovk/WaveGrad @ 721c37c: ``configs/default.json`` ``data_config`` (22050 Hz, n_fft
    1024, win 1024, hop 300, f_min 80, f_max 8000, 80 mels) and ``data.py::MelSpectrogramFixed``:
    torchaudio ``MelSpectrogram`` with its defaults (power 2, HTK, no norm, centred, reflect),
    ``log10``, and the last frame dropped. ivanvovk maps log10(0) = −inf to 0; greenvoc floors
    the power at 1e-10 instead (only digital silence differs).
``melgan``
    descriptinc/melgan-neurips @ 6488045: ``mel2wav/modules.py::Audio2Mel`` (22050 Hz, 1024/256/
    1024, 80 Slaney mels, fmin 0, fmax None = sr/2; reflect pad (n_fft−hop)/2, center=False,
    Hann; ``sqrt(re² + im²)`` without HiFi-GAN's 1e-9; ``log10(clamp(x, 1e-5))``).
``tacotron2``
    NVIDIA/tacotron2 @ 185cd24 (the submodule of NVIDIA/waveglow @ 8afb643, whose
    ``mel2samp.py`` computes WaveGlow's training mel with it): ``layers.py::TacotronSTFT``
    (22050 Hz, 1024/256/1024, 80 Slaney mels, 0–8000 Hz), ``stft.py::STFT.transform`` (reflect
    pad n_fft/2 each side, i.e. centred; periodic Hann from ``scipy.signal.get_window``;
    ``sqrt(re² + im²)``) and ``audio_processing.py::dynamic_range_compression``
    (``log(clamp(x, 1e-5))``). HiFi-GAN's recipe differs by its framing: its frames sit 128
    samples later and there is one fewer.
``wavernn``
    fatchord/WaveRNN @ 83c08fd: ``hparams.py`` (22050 Hz, n_fft 2048, hop 275, win 1100, 80
    mels, fmin 40, min_level_db −100) and ``utils/dsp.py::melspectrogram``: ``librosa.stft``
    (centred, reflect: librosa < 0.10's default), ``|·|``, Slaney basis up to sr/2,
    ``20·log10(max(1e-5, x))`` (no ref level for mels) and ``clip((S + 100)/100, 0, 1)``.
"""

from __future__ import annotations

import dataclasses
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

# lmnt-com/diffwave preprocess.py: torchaudio MelSpectrogram(normalized=True, power 1), dB, [0, 1]
_DIFFWAVE = MelConfig(
    sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmin=20.0,
    fmax=None, mel_scale="htk", mel_norm=None, window="hann", center=True, pad_mode="reflect",
    magnitude="abs", log_base="10", clamp_min=1e-5, window_norm=True, log_scale=20.0,
    log_offset=-20.0, min_level_db=-100.0,
)

# r9y9/wavenet_vocoder @ 2092a64 audio.py: lws STFT, Slaney mels 125–7600 Hz, dB − 20, [0, 1]
_WAVENET_R9Y9 = MelConfig(
    sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmin=125.0,
    fmax=7600.0, mel_scale="slaney", mel_norm="slaney", stft="lws", center=False,
    magnitude="abs", log_base="10", clamp_min=1e-5, log_scale=20.0, log_offset=-20.0,
    min_level_db=-100.0, peak_normalize=0.999,
)

# ivanvovk/WaveGrad data.py MelSpectrogramFixed: torchaudio defaults (power 2), log10, last
# frame dropped
_WAVEGRAD = MelConfig(
    sample_rate=22050, n_fft=1024, hop_length=300, win_length=1024, n_mels=80, fmin=80.0,
    fmax=8000.0, mel_scale="htk", mel_norm=None, window="hann", center=True, pad_mode="reflect",
    magnitude="power", log_base="10", clamp_min=1e-10, drop_last_frame=True,
)

# fatchord/WaveRNN utils/dsp.py melspectrogram: librosa stft 2048/275/1100, dB, [0, 1]
_WAVERNN = MelConfig(
    sample_rate=22050, n_fft=2048, hop_length=275, win_length=1100, n_mels=80, fmin=40.0,
    fmax=None, mel_scale="slaney", mel_norm="slaney", window="hann", center=True,
    pad_mode="reflect", magnitude="abs", log_base="10", clamp_min=1e-5, log_scale=20.0,
    min_level_db=-100.0,
)

# descriptinc/melgan-neurips Audio2Mel: HiFi-GAN's framing, no 1e-9 under the root, log10
_MELGAN = dataclasses.replace(_hifigan_recipe(22050, 80, None), magnitude_eps=0.0, log_base="10")

# NVIDIA/tacotron2 TacotronSTFT (WaveGlow's mel2samp.py): centred, no 1e-9, natural log
_TACOTRON2 = dataclasses.replace(_hifigan_recipe(22050, 80, 8000.0), center=True, padding=0,
                                 magnitude_eps=0.0)

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
        "diffwave": _DIFFWAVE,
        "wavenet-r9y9": _WAVENET_R9Y9,
        "wavegrad": _WAVEGRAD,
        "wavernn": _WAVERNN,
        "melgan": _MELGAN,
        "tacotron2": _TACOTRON2,
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
        "diffwave": "lmnt-com/diffwave src/diffwave/preprocess.py, params.py",
        "wavenet-r9y9": "r9y9/wavenet_vocoder@2092a64 audio.py, hparams.py; lws python/lws.pyx",
        "wavegrad": "ivanvovk/WaveGrad configs/default.json, data.py",
        "wavernn": "fatchord/WaveRNN hparams.py, utils/dsp.py",
        "melgan": "descriptinc/melgan-neurips@6488045 mel2wav/modules.py Audio2Mel",
        "tacotron2": "NVIDIA/tacotron2@185cd24 layers.py TacotronSTFT, stft.py, "
        "audio_processing.py; NVIDIA/waveglow@8afb643 mel2samp.py, config.json",
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
