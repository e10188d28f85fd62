"""Log-mel front-ends: one typed config, one function, the vocoders' presets in ``presets.py``.

A vocoder only reproduces speech from the mel it was trained on, and the recipes differ in mel
scale (Slaney vs HTK), area normalisation, padding, magnitude formula, log base and floor. Every
difference is a field of :class:`MelConfig`, so a recipe is configuration, not code.

The computation, in order (T samples in, F frames out)::

    x ─► x · peak_normalize / max|x|, when set (r9y9's ``rescaling``)
      ─► pad `padding` samples each side with `pad_mode` (HiFi-GAN: (n_fft−hop)/2, reflect)
      ─► torch.stft(n_fft, hop_length, win_length, window, center, pad_mode)   (n_fft//2+1, F)
         or, with stft="lws", lws's framing and window (r9y9/wavenet_vocoder)
      ─► ÷ ‖window‖₂ when window_norm (torchaudio's ``normalized=True``)
      ─► P = re² + im² + magnitude_eps;  M = sqrt(P) ("abs") or P ("power")
      ─► mel = basis @ M     basis: librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax,
                                                       htk=(mel_scale == "htk"), norm=mel_norm)
      ─► log(max(mel, clamp_min)) in base e or 10 (or none), × log_scale + log_offset
         (20·log10(x) − ref_level_db: log_base "10", log_scale 20, log_offset −ref_level_db)
      ─► clip((x − min_level_db) / −min_level_db, 0, 1), when min_level_db is set
      ─► (x − mel_mean) / mel_std per band, when statistics are given
      ─► the last frame dropped, when drop_last_frame (ivanvovk/WaveGrad)
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch

from greenvoc.errors import UsageError

_MEL_SCALES = ("slaney", "htk")
_MEL_NORMS = ("slaney", None)
_MAGNITUDES = ("abs", "power")
_LOG_BASES = ("e", "10", None)
_PAD_MODES = ("reflect", "constant", "replicate", "circular")
_WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window}
_STFTS = ("torch", "lws")


@dataclass(frozen=True)
class MelConfig:
    """How a waveform becomes a log-mel spectrogram (see the module docstring for the order).

    sample_rate: Hz of the input audio; n_fft, hop_length, win_length: samples (``win_length``
    ``None`` means n_fft); n_mels: bands; fmin, fmax: Hz edges of the mel basis (``fmax`` ``None``
    means sample_rate/2); mel_scale: "slaney" or "htk"; mel_norm: "slaney" (area normalisation,
    librosa's default) or ``None``; window: "hann" or "hamming" (periodic); center: torch.stft's
    centring (pads n_fft//2 each side with ``pad_mode``); padding: samples added each side with
    ``pad_mode`` before the STFT; magnitude: "abs" (sqrt of power) or "power"; magnitude_eps:
    added to re²+im² before the square root; log_base: "e", "10" or ``None`` (linear mel);
    clamp_min: floor applied before the log; mel_mean, mel_std: per-band statistics (n_mels
    values each) applied after the log as (x − mean)/std, or ``None``. stft: "torch" or "lws"
    (lws 1.2's ``stft`` with its perfect-reconstruction √Hann window: n_fft − hop zeros before,
    the last frame completed with zeros; ``window``/``center``/``padding`` then unused);
    window_norm: divide the STFT by the window's L2 norm; log_scale, log_offset: applied after
    the log (dB: 20 and −ref_level_db); min_level_db: map [min_level_db, 0] dB to [0, 1] and
    clip; peak_normalize: scale each waveform to this peak first; drop_last_frame: drop the
    final frame.
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    win_length: int | None = None
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    window: str = "hann"
    center: bool = False
    pad_mode: str = "reflect"
    padding: int = 0
    magnitude: str = "abs"
    magnitude_eps: float = 0.0
    log_base: str | None = "e"
    clamp_min: float = 1e-5
    mel_mean: tuple[float, ...] | None = None
    mel_std: tuple[float, ...] | None = None
    stft: str = "torch"
    window_norm: bool = False
    log_scale: float = 1.0
    log_offset: float = 0.0
    min_level_db: float | None = None
    peak_normalize: float | None = None
    drop_last_frame: bool = False

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise UsageError(f"MelConfig.{name} must be a positive integer, got {value!r}")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            raise UsageError(f"MelConfig.win_length must be in 1..n_fft, got {self.win_length}")
        if self.padding < 0:
            raise UsageError(f"MelConfig.padding must be >= 0 samples, got {self.padding}")
        if not 0 <= self.fmin < self.fmax_hz <= self.sample_rate / 2:
            raise UsageError(
                f"MelConfig needs 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                f"fmax={self.fmax}, sample_rate={self.sample_rate}"
            )
        choices = {
            "mel_scale": _MEL_SCALES,
            "mel_norm": _MEL_NORMS,
            "magnitude": _MAGNITUDES,
            "log_base": _LOG_BASES,
            "pad_mode": _PAD_MODES,
            "window": tuple(_WINDOWS),
            "stft": _STFTS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UsageError(
                    f"MelConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        if self.clamp_min <= 0 and self.log_base is not None:
            raise UsageError("MelConfig.clamp_min must be > 0 when a log is taken")
        for name in ("mel_mean", "mel_std"):
            stats = getattr(self, name)
            if stats is not None:
                object.__setattr__(self, name, tuple(float(v) for v in stats))
                if len(getattr(self, name)) != self.n_mels:
                    raise UsageError(
                        f"MelConfig.{name} has {len(stats)} values, expected n_mels={self.n_mels}"
                    )
        if (self.mel_mean is None) != (self.mel_std is None):
            raise UsageError("MelConfig.mel_mean and mel_std are given together or not at all")
        if self.mel_std is not None and min(self.mel_std) <= 0:
            raise UsageError("MelConfig.mel_std values must be > 0")
        if self.min_level_db is not None and (self.min_level_db >= 0 or self.log_base is None):
            raise UsageError("MelConfig.min_level_db must be < 0 dB and needs a log_base")
        if self.stft == "lws" and (self.center or self.padding or
                                   self.win_length_samples != self.n_fft):
            raise UsageError("MelConfig.stft='lws' frames by itself: center=False, padding=0 "
                             "and win_length=n_fft")
        if self.peak_normalize is not None and not 0 < self.peak_normalize <= 1:
            raise UsageError("MelConfig.peak_normalize must be in (0, 1]")

    @property
    def fmax_hz(self) -> float:
        """The upper edge actually used, Hz (sample_rate/2 when ``fmax`` is ``None``)."""
        return self.sample_rate / 2 if self.fmax is None else float(self.fmax)

    @property
    def win_length_samples(self) -> int:
        return self.n_fft if self.win_length is None else self.win_length

    @property
    def frame_rate_hz(self) -> float:
        """Mel frames per second of audio."""
        return self.sample_rate / self.hop_length

    @property
    def value_range(self) -> tuple[float, float] | None:
        """The range every value of this front-end's mel lies in, where it is bounded."""
        if self.min_level_db is not None and self.mel_mean is None:
            return (0.0, 1.0)
        return None

    def num_frames(self, num_samples: int) -> int:
        """Frames produced from ``num_samples`` samples."""
        if self.stft == "lws":
            frames = len(range(0, _lws_pre_pad(self) + num_samples, self.hop_length))
        else:
            total = num_samples + 2 * self.padding
            if self.center:
                frames = 1 + total // self.hop_length
            else:
                frames = 1 + (total - self.n_fft) // self.hop_length
        return frames - 1 if self.drop_last_frame else frames

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; :meth:`from_dict` inverts it."""
        d = asdict(self)
        for name in ("mel_mean", "mel_std"):
            if d[name] is not None:
                d[name] = list(d[name])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown MelConfig fields {unknown}; valid: {sorted(known)}")
        return cls(**data)


@functools.lru_cache(maxsize=32)
def _mel_basis_f64(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: str | None
) -> np.ndarray:
    import librosa

    basis = librosa.filters.mel(
        sr=sample_rate,
        n_fft=n_fft,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        htk=htk,
        norm=norm,
        dtype=np.float64,
    )
    basis.setflags(write=False)  # cached and shared: nobody may edit it in place
    return basis


def mel_basis(config: MelConfig) -> np.ndarray:
    """The mel filterbank, float64 ``(n_mels, n_fft//2 + 1)``."""
    return _mel_basis_f64(
        config.sample_rate,
        config.n_fft,
        config.n_mels,
        float(config.fmin),
        config.fmax_hz,
        config.mel_scale == "htk",
        config.mel_norm,
    )


@functools.lru_cache(maxsize=32)
def _basis_tensor(config: MelConfig, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # one host-to-device copy per (config, dtype, device), not one per call
    return torch.tensor(mel_basis(config), dtype=dtype, device=device)


def _as_waveform_tensor(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(audio)) if isinstance(audio, np.ndarray) else audio
    if not isinstance(x, torch.Tensor):
        raise UsageError(f"mel_spectrogram takes a numpy array or torch tensor, got {type(x)}")
    if not torch.is_floating_point(x):
        raise UsageError(f"mel_spectrogram takes float samples in [-1, 1], got dtype {x.dtype}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return x


def _lws_pre_pad(config: MelConfig) -> int:
    residual = config.n_fft % config.hop_length
    return config.n_fft - (residual or config.hop_length)


@functools.lru_cache(maxsize=8)
def lws_window(n_fft: int, hop: int) -> np.ndarray:
    """lws's default analysis window: a = √hann_sym (half-sample offset), divided by the
    square root of the overlap-added a² (its perfect-reconstruction normaliser), float64."""
    a = np.sqrt(0.5 * (1 - np.cos(2 * np.pi * np.arange(1, 2 * n_fft, 2) / (2 * n_fft))))
    q = -(-n_fft // hop)
    folded = np.concatenate([a * a, np.zeros(q * hop - n_fft)]).reshape(q, hop).sum(0)
    window = a / np.sqrt(np.tile(folded, q)[:n_fft])
    window.setflags(write=False)
    return window


def _lws_pad(x: torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Zeros as lws.stft(perfectrec=True) adds them: n_fft − hop before (for hop | n_fft), the
    signal completed to a whole hop, then the last frame completed to n_fft."""
    hop, length = config.hop_length, x.shape[-1]
    pre = _lws_pre_pad(config)
    frames = len(range(0, pre + length, hop))
    post = (frames - 1) * hop + config.n_fft - pre - length
    return torch.nn.functional.pad(x, (pre, post))


def _pad(x: torch.Tensor, amount: int, mode: str) -> torch.Tensor:
    if amount == 0:
        return x
    if mode == "reflect" and x.shape[-1] <= amount:
        raise UsageError(
            f"audio of {x.shape[-1]} samples is too short for {amount} samples of reflect padding"
        )
    # F.pad wants (N, C, T) for the non-constant modes
    return torch.nn.functional.pad(x.unsqueeze(1), (amount, amount), mode=mode).squeeze(1)


def mel_spectrogram(audio: np.ndarray | torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Log-mel spectrogram of ``audio`` following ``config``.

    audio: float samples at ``config.sample_rate``, ``(T,)`` or batched ``(B, T)``; numpy or torch
    (any device). Computed in the input's precision (float32 or float64).
    Returns a tensor of shape ``(n_mels, F)`` or ``(B, n_mels, F)``, F = ``config.num_frames(T)``,
    on the input's device: natural- or base-10 log of the mel magnitude (or power), normalised
    per band when the config carries statistics.
    """
    x = _as_waveform_tensor(audio)
    if x.ndim not in (1, 2):
        raise UsageError(f"mel_spectrogram takes (T,) or (B, T) audio, got shape {tuple(x.shape)}")
    batched = x.ndim == 2
    x = x if batched else x.unsqueeze(0)
    if config.peak_normalize is not None:
        peak = x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12)
        x = x / peak * config.peak_normalize
    if config.stft == "lws":
        x = _lws_pad(x, config)
        window = torch.tensor(lws_window(config.n_fft, config.hop_length), dtype=x.dtype,
                              device=x.device)
    else:
        x = _pad(x, config.padding, config.pad_mode)
        if config.center:
            x = _pad(x, config.n_fft // 2, config.pad_mode)
        window = _WINDOWS[config.window](config.win_length_samples, dtype=x.dtype,
                                         device=x.device)
    if x.shape[-1] < config.n_fft:
        raise UsageError(
            f"audio too short for one frame: {x.shape[-1]} samples after padding < n_fft"
        )
    # centring was done above so that every pad mode, and the too-short check, behave the same
    spec = torch.stft(
        x,
        config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length_samples,
        window=window,
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    if config.window_norm:
        spec = spec / window.square().sum().sqrt()
    if config.magnitude == "abs" and config.magnitude_eps == 0:
        magnitude = spec.abs()  # complex abs: its gradient at 0 is 0, where sqrt's is inf
    else:
        power = spec.real.square() + spec.imag.square() + config.magnitude_eps
        magnitude = power.sqrt() if config.magnitude == "abs" else power
    basis = _basis_tensor(config, x.dtype, x.device)
    mel = torch.matmul(basis, magnitude)
    if config.log_base is not None:
        mel = mel.clamp(min=config.clamp_min)
        mel = mel.log() if config.log_base == "e" else mel.log10()
        if config.log_scale != 1.0 or config.log_offset != 0.0:
            mel = mel * config.log_scale + config.log_offset
    if config.min_level_db is not None:
        mel = ((mel - config.min_level_db) / -config.min_level_db).clamp(0.0, 1.0)
    if config.mel_mean is not None:
        mean = torch.tensor(config.mel_mean, dtype=x.dtype, device=x.device).unsqueeze(-1)
        std = torch.tensor(config.mel_std, dtype=x.dtype, device=x.device).unsqueeze(-1)
        mel = (mel - mean) / std
    if config.drop_last_frame:
        mel = mel[..., :-1]
    return mel if batched else mel.squeeze(0)
