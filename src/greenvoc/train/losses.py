"""Training losses of the vocoder families. Waveforms are (B, T) or (B, 1, T) float in [-1, 1];
discriminator outputs are lists of ``(score, feature_maps)`` (see :mod:`.discriminators`).

* mel L1: mean |log mel(ŷ) − log mel(y)| with the model's front-end (HiFi-GAN §2.3, weight 45).
* feature matching: Σ over sub-discriminators and layers of mean |D_l(y) − D_l(ŷ)|
  (MelGAN §2.3; HiFi-GAN weight 2).
* adversarial: LSGAN (HiFi-GAN: D: (1 − D(y))² + D(ŷ)², G: (1 − D(ŷ))²) or hinge
  (MelGAN, Vocos: D: relu(1 − D(y)) + relu(1 + D(ŷ)), G: relu(1 − D(ŷ)) as in Vocos).
* multi-resolution STFT: spectral convergence + log-magnitude L1 at three resolutions
  (Yamamoto et al., Parallel WaveGAN, 2020 §2.3).
* diffusion: L1 between the true and predicted noise at a random step (DiffWave's learner.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch.nn import functional as F

from greenvoc.audio.mel import MelConfig, mel_spectrogram

Adversarial = Literal["lsgan", "hinge"]
Output = list[tuple[torch.Tensor, list[torch.Tensor]]]

#: (n_fft, hop, win) of ParallelWaveGAN's MultiResolutionSTFTLoss defaults.
STFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def mel_l1(estimate: torch.Tensor, target: torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Mean absolute difference of the two log-mels (nats for a natural-log front-end)."""
    a = mel_spectrogram(_flat(estimate), config)
    b = mel_spectrogram(_flat(target), config)
    frames = min(a.shape[-1], b.shape[-1])
    return F.l1_loss(a[..., :frames], b[..., :frames])


def feature_matching(real: Output, fake: Output, weights: Sequence[float] | None = None
                     ) -> torch.Tensor:
    """Σ_d w_d Σ_l mean |real_l − fake_l|; real activations are constants (detached)."""
    total = fake[0][0].new_zeros(())
    for i, ((_, fr), (_, ff)) in enumerate(zip(real, fake, strict=True)):
        w = 1.0 if weights is None else weights[i]
        for r, f in zip(fr, ff, strict=True):
            total = total + w * F.l1_loss(f, r.detach())
    return total


def discriminator_loss(real: Output, fake: Output, kind: Adversarial) -> torch.Tensor:
    """Summed over sub-discriminators; ``fake`` must come from a detached generator output."""
    total = real[0][0].new_zeros(())
    for (r, _), (f, _) in zip(real, fake, strict=True):
        if kind == "lsgan":
            total = total + torch.mean((1 - r) ** 2) + torch.mean(f**2)
        else:
            total = total + torch.mean(F.relu(1 - r)) + torch.mean(F.relu(1 + f))
    return total


def generator_adversarial_loss(fake: Output, kind: Adversarial) -> torch.Tensor:
    total = fake[0][0].new_zeros(())
    for f, _ in fake:
        total = total + (torch.mean((1 - f) ** 2) if kind == "lsgan"
                         else torch.mean(F.relu(1 - f)))
    return total


def multi_resolution_stft(estimate: torch.Tensor, target: torch.Tensor,
                          resolutions: Sequence[tuple[int, int, int]] = STFT_RESOLUTIONS
                          ) -> torch.Tensor:
    """Mean over resolutions of spectral convergence + mean |log|Ŝ| − log|S||."""
    est, ref = _flat(estimate), _flat(target)
    n = min(est.shape[-1], ref.shape[-1])
    est, ref = est[:, :n], ref[:, :n]
    total = est.new_zeros(())
    for n_fft, hop, win in resolutions:
        window = torch.hann_window(win, device=est.device, dtype=est.dtype)
        def mag(x: torch.Tensor, n_fft=n_fft, hop=hop, win=win, window=window) -> torch.Tensor:
            s = torch.stft(x, n_fft, hop, win, window, return_complex=True)
            return (s.real**2 + s.imag**2).clamp(min=1e-7).sqrt()
        a, b = mag(est), mag(ref)
        convergence = torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp(min=1e-7)
        total = total + convergence + F.l1_loss(a.log(), b.log())
    return total / len(resolutions)


def diffusion_noise_loss(denoise, audio: torch.Tensor, cond: torch.Tensor,
                         alpha_cum: torch.Tensor, generator: torch.Generator
                         ) -> tuple[torch.Tensor, int]:
    """DiffWave's objective for one batch at one random training step t.

    denoise: (noisy (B, L), cond, t) → predicted noise (B, L); audio: clean (B, L);
    alpha_cum: ᾱ of the training chain (N,). Returns (L1 loss, t). One t per batch, where the
    official learner draws one per item: greenvoc's DiffWave embeds a scalar step.
    """
    t = int(torch.randint(0, len(alpha_cum), (1,), generator=generator))
    # drawn on the CPU generator (reproducible on any device), then moved to the batch's device
    noise = torch.randn(audio.shape, generator=generator, dtype=audio.dtype).to(audio.device)
    a = alpha_cum[t].to(audio.device, audio.dtype)
    noisy = a.sqrt() * audio + (1 - a).sqrt() * noise
    return F.l1_loss(denoise(noisy, cond, float(t)), noise), t
