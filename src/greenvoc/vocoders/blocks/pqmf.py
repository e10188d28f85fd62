"""Pseudo-QMF filter bank: split a waveform into sub-bands and merge them back.

Multi-band MelGAN (Yang et al., 2021) generates ``subbands`` signals at 1/subbands of the sample
rate and merges them with the synthesis bank. The prototype low-pass filter is a Kaiser-windowed
sinc (Lin & Vaidyanathan's Kaiser approach for cosine-modulated banks); the filters are
``2·h·cos((2k+1)·π/(2M)·(n − taps/2) ± (−1)^k·π/4)``, analysis with ``+``, synthesis with ``−``.

The defaults (62 taps, cutoff 0.15, β 9.0, 4 bands) are those kan-bayashi/ParallelWaveGAN uses
for its released Multi-band MelGAN checkpoints (``utils.load_model`` for configs ≤ v0.4.2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def prototype_filter(taps: int = 62, cutoff_ratio: float = 0.15, beta: float = 9.0
                     ) -> np.ndarray:
    """Kaiser-windowed ideal low-pass of cut-off ``cutoff_ratio``·π: (taps + 1,) coefficients."""
    if taps % 2:
        raise ValueError(f"PQMF taps must be even, got {taps}")
    if not 0.0 < cutoff_ratio < 1.0:
        raise ValueError(f"PQMF cutoff_ratio must be in (0, 1), got {cutoff_ratio}")
    n = np.arange(taps + 1) - taps / 2
    # sin(ωc·n)/(π·n) = cutoff·sinc(cutoff·n), with the n = 0 limit built in
    ideal = cutoff_ratio * np.sinc(cutoff_ratio * n)
    return ideal * np.kaiser(taps + 1, beta)


def cosine_modulated_bank(subbands: int, taps: int, cutoff_ratio: float, beta: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(analysis, synthesis) filters, each (subbands, taps + 1)."""
    proto = prototype_filter(taps, cutoff_ratio, beta)
    n = np.arange(taps + 1) - taps / 2
    k = np.arange(subbands)[:, None]
    phase = (2 * k + 1) * (np.pi / (2 * subbands)) * n
    shift = ((-1.0) ** k) * np.pi / 4
    return 2 * proto * np.cos(phase + shift), 2 * proto * np.cos(phase - shift)


class PQMF(nn.Module):
    """analysis: (B, 1, T) → (B, subbands, T / subbands); synthesis: the inverse.

    The filters are fixed (non-persistent buffers): they are computed, never loaded.
    """

    def __init__(self, subbands: int = 4, taps: int = 62, cutoff_ratio: float = 0.15,
                 beta: float = 9.0) -> None:
        super().__init__()
        analysis, synthesis = cosine_modulated_bank(subbands, taps, cutoff_ratio, beta)
        self.subbands = subbands
        self.half_taps = taps // 2
        self.register_buffer("analysis_filter",
                             torch.from_numpy(analysis).float().unsqueeze(1), persistent=False)
        self.register_buffer("synthesis_filter",
                             torch.from_numpy(synthesis).float().unsqueeze(0), persistent=False)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, T) → (B, subbands, T // subbands): filter, then keep every M-th sample."""
        bands = F.conv1d(F.pad(x, (self.half_taps, self.half_taps)), self.analysis_filter)
        return bands[..., :: self.subbands]

    def synthesis(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, subbands, L) → (B, 1, L · subbands): zero-stuff each band, gain M, filter, sum."""
        b, m, length = x.shape
        up = x.new_zeros(b, m, length * m)
        up[..., :: m] = x * m  # the ×M restores the power lost by decimation
        return F.conv1d(F.pad(up, (self.half_taps, self.half_taps)), self.synthesis_filter)
