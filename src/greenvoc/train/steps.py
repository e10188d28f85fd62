"""What one training step does, per recipe kind: the models, optimisers and schedulers of a run
and the GAN step (discriminator update, then generator update) or the diffusion step.

Nothing here knows about energy, files or the database: :mod:`.loop` wraps each call of
:meth:`Trainer.step` in a meter window.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from greenvoc.audio.mel import MelConfig
from greenvoc.train import losses
from greenvoc.train.discriminators import build_discriminator
from greenvoc.train.recipes import TrainRecipe
from greenvoc.vocoders.registry import get_spec


def _as_b1t(x: torch.Tensor) -> torch.Tensor:
    """(B, T) or (B, 1, T) generator output → (B, 1, T)."""
    return x.unsqueeze(1) if x.dim() == 2 else x


def _f(x: torch.Tensor) -> float:
    return float(x.detach())


def _optimiser(recipe: TrainRecipe, params) -> torch.optim.Optimizer:
    o = recipe.optimiser
    cls = torch.optim.AdamW if o.kind == "adamw" else torch.optim.Adam
    return cls(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


def _scheduler(recipe: TrainRecipe, opt: torch.optim.Optimizer, horizon: int):
    o = recipe.optimiser
    if o.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, horizon))
    return torch.optim.lr_scheduler.ExponentialLR(
        opt, gamma=o.gamma if o.schedule == "epoch-exponential" else 1.0)


class Trainer:
    """The trainable state of one run.

    gen_config: the generator's typed config (the zoo spec's, with ``--config`` overrides);
    disc_width: channel multiplier of every discriminator; steps_per_epoch: for the per-epoch
    learning-rate decay (⌈training clips / batch⌉: one epoch sees each clip once on average);
    horizon: steps of the cosine schedule (the published schedule, else the run's target).
    device: where the models and each batch live (``cpu``, ``cuda``); batches come from the
    sampler on the CPU and the random draws stay on the CPU generator, so a run is the same
    draw sequence on any device.
    """

    def __init__(self, recipe: TrainRecipe, gen_config: Any, mel_config: MelConfig,
                 disc_width: float = 1.0, steps_per_epoch: int = 1, horizon: int = 1,
                 device: str | torch.device = "cpu") -> None:
        self.recipe = recipe
        self.device = torch.device(device)
        self.mel_config = mel_config
        # HiFi-GAN computes the mel loss over the full band ("fmax_for_loss": null)
        self.loss_mel_config = dataclasses.replace(mel_config, fmax=None)
        self.steps_per_epoch = max(1, steps_per_epoch)
        spec = get_spec(recipe.model)
        self.generator: nn.Module = spec.build(gen_config).to(self.device)
        self.discriminators = nn.ModuleDict(
            {kind: build_discriminator(kind, disc_width) for kind, _ in recipe.discriminators}
        ).to(self.device)
        self.weights = dict(recipe.discriminators)
        self.opt_g = _optimiser(recipe, self.generator.parameters())
        self.sched_g = _scheduler(recipe, self.opt_g, horizon)
        self.opt_d = self.sched_d = None
        if self.discriminators:
            self.opt_d = _optimiser(recipe, self.discriminators.parameters())
            self.sched_d = _scheduler(recipe, self.opt_d, horizon)
        if recipe.kind == "diffusion":
            beta = np.asarray(gen_config.training_schedule, dtype=np.float64)
            self.alpha_cum = torch.tensor(np.cumprod(1.0 - beta), dtype=torch.float32)  # CPU

    # -- steps ---------------------------------------------------------------------------
    def step(self, wave: torch.Tensor, mel: torch.Tensor, rng: torch.Generator
             ) -> dict[str, float]:
        """One optimisation step on wave (B, T) and its mel (B, n_mels, F); returns the losses
        as floats."""
        self.generator.train()
        wave, mel = wave.to(self.device), mel.to(self.device)
        if self.recipe.kind == "diffusion":
            return self._diffusion_step(wave, mel, rng)
        return self._gan_step(wave, mel)

    def _diffusion_step(self, wave, mel, rng) -> dict[str, float]:
        g = self.generator
        self.opt_g.zero_grad(set_to_none=True)
        cond = g.spectrogram_upsampler(mel)[..., : wave.shape[-1]]
        loss, t = losses.diffusion_noise_loss(g.denoise, wave, cond, self.alpha_cum, rng)
        loss.backward()
        self.opt_g.step()
        return {"noise_l1": _f(loss), "t": float(t)}

    def _gan_step(self, wave, mel) -> dict[str, float]:
        r = self.recipe
        y = wave.unsqueeze(1)
        y_hat = _as_b1t(self.generator(mel))
        n = min(y.shape[-1], y_hat.shape[-1])
        y, y_hat = y[..., :n], y_hat[..., :n]

        self.opt_d.zero_grad(set_to_none=True)
        loss_d = y.new_zeros(())
        for kind, d in self.discriminators.items():
            real, fake = d(y), d(y_hat.detach())
            term = losses.discriminator_loss(real, fake, r.adversarial)
            loss_d = loss_d + self._weight(kind, len(fake)) * term
        loss_d.backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        adv = fm = y.new_zeros(())
        for kind, d in self.discriminators.items():
            with torch.no_grad():
                real = d(y)
            fake = d(y_hat)
            w = self._weight(kind, len(fake))
            adv = adv + w * losses.generator_adversarial_loss(fake, r.adversarial)
            fm = fm + w * losses.feature_matching(real, fake)
        mel_l1 = losses.mel_l1(y_hat, y, self.loss_mel_config)
        loss_g = adv + r.fm_weight * fm + r.mel_weight * mel_l1
        out = {"d": _f(loss_d), "g_adv": _f(adv), "g_fm": _f(fm), "mel_l1": _f(mel_l1)}
        if r.stft_weight:
            stft = losses.multi_resolution_stft(y_hat, y)
            loss_g = loss_g + r.stft_weight * stft
            out["stft"] = _f(stft)
        loss_g.backward()
        self.opt_g.step()
        out["g"] = _f(loss_g)
        return out

    def _weight(self, kind: str, subdiscriminators: int) -> float:
        average = self.recipe.average_subdiscriminators
        return self.weights[kind] / (subdiscriminators if average else 1)

    def end_step(self, step: int) -> None:
        """Advance the learning-rate schedules after step ``step`` (1-based)."""
        if self.recipe.optimiser.schedule == "cosine" or step % self.steps_per_epoch == 0:
            for sched in (self.sched_g, self.sched_d):
                if sched is not None:
                    sched.step()

    # -- inference and state ---------------------------------------------------------------
    @torch.no_grad()
    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, F) → waveform (B, T) with the generator in eval mode."""
        self.generator.eval()
        try:
            return _as_b1t(self.generator(mel.to(self.device))).squeeze(1).cpu()
        finally:
            self.generator.train()

    def state_dict(self) -> dict[str, Any]:
        state = {"generator": self.generator.state_dict(), "opt_g": self.opt_g.state_dict(),
                 "sched_g": self.sched_g.state_dict()}
        if self.opt_d is not None:
            state |= {"discriminators": self.discriminators.state_dict(),
                      "opt_d": self.opt_d.state_dict(), "sched_d": self.sched_d.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        if self.opt_d is not None:
            self.discriminators.load_state_dict(state["discriminators"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.sched_d.load_state_dict(state["sched_d"])

    def parameter_count(self) -> dict[str, int]:
        return {"generator": sum(p.numel() for p in self.generator.parameters()),
                "discriminators": sum(p.numel() for p in self.discriminators.parameters())}
