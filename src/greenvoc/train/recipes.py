"""Training recipes: per family, which generator (a zoo spec), which discriminators and losses,
which optimiser, and the published schedule the projection scales to, each with its source.

A recipe builds an untrained generator from its zoo spec's typed config; ``--config`` replaces
fields of that config (``upsample_initial_channel=32``) or applies the recipe's ``tiny``
overrides (for tests and benchmarks: same architecture, fewer channels).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

from greenvoc.errors import UsageError
from greenvoc.train.losses import Adversarial
from greenvoc.vocoders.registry import get_spec


@dataclass(frozen=True)
class Published:
    """The schedule of the paper or official code. ``None`` where the source does not say."""

    steps: int | None
    batch: int | None
    segment: int | None
    source: str


@dataclass(frozen=True)
class Optimiser:
    kind: Literal["adamw", "adam"] = "adamw"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    #: "epoch-exponential": lr × gamma once per epoch (HiFi-GAN); "cosine" over the published
    #: steps (Vocos); "constant".
    schedule: Literal["epoch-exponential", "cosine", "constant"] = "epoch-exponential"
    gamma: float = 0.999


@dataclass(frozen=True)
class TrainRecipe:
    """name: what ``greenvoc train NAME`` takes; model: the zoo spec whose generator it trains;
    discriminators: (kind, weight) pairs, the weight scaling that discriminator's adversarial and
    feature-matching terms; tiny: field overrides of the generator config plus ``disc_width``.
    """

    name: str
    model: str
    kind: Literal["gan", "diffusion"]
    published: Published
    optimiser: Optimiser = Optimiser()
    discriminators: tuple[tuple[str, float], ...] = ()
    adversarial: Adversarial = "lsgan"
    mel_weight: float = 0.0
    fm_weight: float = 0.0
    stft_weight: float = 0.0
    #: divide each discriminator's adversarial and feature-matching sums by its number of
    #: sub-discriminators (Vocos' experiment.py does; HiFi-GAN and MelGAN sum)
    average_subdiscriminators: bool = False
    tiny: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    notes: str = ""


HIFIGAN_SOURCE = ("Kong, Kim & Bae 2020 (arXiv 2010.05646) §4: AdamW β 0.8/0.99, λ 0.01, lr 2e-4 "
                  "× 0.999 per epoch, up to 2.5 M steps; batch 16 and segment 8192 from the "
                  "official config_v1/v2/v3.json (jik876/hifi-gan)")


def _hifigan(version: str, model: str) -> TrainRecipe:
    return TrainRecipe(
        name=f"hifigan-{version}", model=model, kind="gan",
        published=Published(2_500_000, 16, 8192, HIFIGAN_SOURCE),
        discriminators=(("mpd", 1.0), ("msd", 1.0)), adversarial="lsgan",
        mel_weight=45.0, fm_weight=2.0,
        tiny={"upsample_initial_channel": 32, "disc_width": 1 / 16},
        aliases=(model,),
    )


RECIPES: dict[str, TrainRecipe] = {r.name: r for r in (
    _hifigan("v1", "hifigan-v1-lj"),
    _hifigan("v2", "hifigan-v2"),
    _hifigan("v3", "hifigan-v3"),
    TrainRecipe(
        name="melgan", model="melgan", kind="gan",
        published=Published(None, 16, 8192,
                            "Kumar et al. 2019 (arXiv 1910.06711) §3; descriptinc/melgan-neurips "
                            "scripts/train.py: Adam lr 1e-4 β 0.5/0.9, batch 16, seq_len 8192, "
                            "λ_feat 10; the number of steps is not stated (3000 epochs by "
                            "default)"),
        optimiser=Optimiser("adam", 1e-4, (0.5, 0.9), 0.0, "constant"),
        discriminators=(("melgan-msd", 1.0),), adversarial="hinge",
        # λ_feat 10 × 4/(n_layers_D + 1) × 1/num_D, the per-layer weight of scripts/train.py
        fm_weight=10 * 4 / 5 / 3,
        tiny={"channels": 32, "disc_width": 1 / 8},
    ),
    TrainRecipe(
        name="vocos", model="vocos-mel-24k", kind="gan",
        published=Published(1_000_000, 16, 16384,
                            "Siuzdak 2024 (arXiv 2306.00814); gemelo-ai/vocos configs/vocos.yaml: "
                            "max_steps 2 M optimiser steps = 1 M generator steps, batch 16, "
                            "num_samples 16384, lr 5e-4, mel 45, MRD 0.1; experiment.py: AdamW "
                            "β 0.8/0.9, cosine schedule"),
        optimiser=Optimiser("adamw", 5e-4, (0.8, 0.9), 0.01, "cosine"),
        discriminators=(("mpd", 1.0), ("mrd", 0.1)), adversarial="hinge",
        mel_weight=45.0, fm_weight=1.0, average_subdiscriminators=True,
        tiny={"dim": 32, "intermediate_dim": 96, "num_layers": 2, "disc_width": 1 / 8},
        aliases=("vocos-mel-24k",),
    ),
    TrainRecipe(
        name="diffwave", model="diffwave", kind="diffusion",
        published=Published(1_000_000, 16, 62 * 256,
                            "Kong et al. 2021 (arXiv 2009.09761) §5.1: Adam lr 2e-4, batch 16, "
                            "1 M steps; lmnt-com/diffwave params.py: crop_mel_frames 62 (15,872 "
                            "samples at hop 256; the paper says clips of 16,000 samples)"),
        optimiser=Optimiser("adam", 2e-4, (0.9, 0.999), 0.0, "constant"),
        tiny={"residual_layers": 4, "residual_channels": 16, "dilation_cycle_length": 2},
    ),
)}


def _aliases() -> dict[str, str]:
    out = {r.name: r.name for r in RECIPES.values()}
    for r in RECIPES.values():
        out.update({a: r.name for a in r.aliases})
    return out


def get_recipe(name: str) -> TrainRecipe:
    """The recipe called ``name`` (or one of its aliases); UsageError with the closest names."""
    names = _aliases()
    if name in names:
        return RECIPES[names[name]]
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.4)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise UsageError(f"no training recipe for {name!r}{hint}; trainable models: "
                     f"{', '.join(RECIPES)}")


def _coerce(key: str, raw: str, current: Any) -> Any:
    if isinstance(current, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"--config {key}={raw}: expected true or false")
        return raw.lower() in ("true", "1")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if isinstance(current, int | float) and not isinstance(value, int | float):
        raise UsageError(f"--config {key}={raw}: expected a number like {current!r}")
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            raise UsageError(f"--config {key}={raw}: expected a tuple like {current!r}")
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return type(current)(value) if isinstance(current, int | float) else value


def parse_overrides(text: str | None, recipe: TrainRecipe) -> dict[str, Any]:
    """``tiny``, ``key=value,key=value`` or both (``tiny,dim=64``) → typed overrides."""
    out: dict[str, Any] = {}
    if not text:
        return out
    base = get_spec(recipe.model).config
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields["disc_width"] = 1.0
    for part in (p.strip() for p in text.split(";" if ";" in text else ",")):
        if not part:
            continue
        if part == "tiny":
            out.update(recipe.tiny)
            continue
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3)
            raise UsageError(
                f"--config {part!r}: expected 'tiny' or FIELD=VALUE with FIELD one of "
                f"{', '.join(fields)}" + (f" (closest: {', '.join(close)})" if close else ""))
        out[key] = _coerce(key, raw.strip(), fields[key])
    return out


def generator_config(recipe: TrainRecipe, overrides: dict[str, Any]) -> Any:
    """The zoo spec's config with the generator overrides applied (``disc_width`` is not one)."""
    base = get_spec(recipe.model).config
    changes = {k: v for k, v in overrides.items() if k != "disc_width"}
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as e:
        raise UsageError(f"--config does not fit {recipe.model}'s config: {e}") from e
