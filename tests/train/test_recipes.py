"""Every recipe trains: tiny configs of each family take real steps on real speech."""

from __future__ import annotations

import math

import pytest
import torch

from greenvoc.errors import UsageError
from greenvoc.train.data import SegmentSampler, load_split
from greenvoc.train.recipes import RECIPES, generator_config, get_recipe, parse_overrides
from greenvoc.train.steps import Trainer
from greenvoc.vocoders.registry import get_spec


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_two_steps_change_losses_and_weights(name, two_clips):
    torch.manual_seed(0)
    recipe = RECIPES[name]
    spec = get_spec(recipe.model)
    overrides = parse_overrides("tiny", recipe)
    trainer = Trainer(recipe, generator_config(recipe, overrides), spec.mel_config,
                      overrides.get("disc_width", 1.0), steps_per_epoch=1, horizon=10)
    split = load_split(two_clips, spec.sample_rate, val_clips=1)
    sampler = SegmentSampler(split.train, 2048, spec.mel_config)
    rng = torch.Generator().manual_seed(0)
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    history = []
    for step in (1, 2):
        wave, mel = sampler.batch(2, rng)
        history.append(trainer.step(wave, mel, rng))
        trainer.end_step(step)
    for losses in history:
        assert losses and all(math.isfinite(v) for v in losses.values())
    key = "noise_l1" if recipe.kind == "diffusion" else "g"
    assert history[0][key] != history[1][key]
    moved = sum(float((a - b.detach()).abs().sum()) for a, b in
                zip(before, trainer.generator.parameters(), strict=True))
    assert moved > 0
    # a generator of the zoo's own architecture: the state loads into a fresh build
    fresh = spec.build(generator_config(recipe, overrides))
    fresh.load_state_dict(trainer.generator.state_dict())


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_hifigan_lr_decays_once_per_epoch():
    recipe = RECIPES["hifigan-v3"]
    spec = get_spec(recipe.model)
    cfg = generator_config(recipe, parse_overrides("tiny", recipe))
    trainer = Trainer(recipe, cfg, spec.mel_config, 1 / 16, steps_per_epoch=3, horizon=10)
    lrs = []
    for step in range(1, 7):
        trainer.end_step(step)
        lrs.append(trainer.opt_g.param_groups[0]["lr"])
    assert lrs[:2] == [2e-4, 2e-4] and lrs[2] == pytest.approx(2e-4 * 0.999)
    assert lrs[5] == pytest.approx(2e-4 * 0.999**2)


def test_config_overrides_are_typed():
    recipe = get_recipe("hifigan-v1-lj")  # a zoo name is an alias of its recipe
    assert recipe.name == "hifigan-v1"
    ov = parse_overrides("tiny;upsample_rates=(8, 8, 4);resblock_kernel_sizes=(3, 5)", recipe)
    cfg = generator_config(recipe, ov)
    assert cfg.upsample_initial_channel == 32 and cfg.upsample_rates == (8, 8, 4)
    with pytest.raises(UsageError, match="upsample_initial_channel"):
        parse_overrides("upsample_initial_chanel=32", recipe)
    with pytest.raises(UsageError, match="expected a number"):
        parse_overrides("upsample_initial_channel=wide", recipe)
