"""Time and energy of one training step, HiFi-GAN V3 against V1, side by side in one run; and
the energy meter's overhead on a training loop.

Part 1: both recipes (full published architectures and discriminators unless ``--config``),
same batch, segment and clips; steps interleaved V1, V3, V3, V1, … after one warm-up step
each, every step in its own meter window. Prints per-step median time and energy and the
ratios V1 / V3.

Part 2: the tiny HiFi-GAN V3 recipe, steps run bare and inside a meter window, interleaved
(ABBA); prints the median and min-of-N time ratio metered / bare.

    python benchmarks/train_step_energy.py [--steps 4] [--batch 1] [--segment 8192]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from greenvoc.energy.meter import EnergyMeter
from greenvoc.train.data import SegmentSampler, load_split
from greenvoc.train.recipes import generator_config, get_recipe, parse_overrides
from greenvoc.train.steps import Trainer
from greenvoc.vocoders.registry import get_spec


def make(name: str, config: str | None, segment: int, data: str):
    recipe = get_recipe(name)
    spec = get_spec(recipe.model)
    overrides = parse_overrides(config, recipe)
    trainer = Trainer(recipe, generator_config(recipe, overrides), spec.mel_config,
                      overrides.get("disc_width", 1.0))
    split = load_split(data, spec.sample_rate, val_clips=0)
    return trainer, SegmentSampler(split.train, segment, spec.mel_config)


def versus(args) -> None:
    torch.manual_seed(0)
    models = {v: make(f"hifigan-{v}", args.config, args.segment, args.data) for v in ("v1", "v3")}
    rng = torch.Generator().manual_seed(0)
    meter = EnergyMeter()
    times: dict[str, list[float]] = {v: [] for v in models}
    joules: dict[str, list[float]] = {v: [] for v in models}
    for trainer, sampler in models.values():  # warm-up: first-call kernel selection
        trainer.step(*sampler.batch(args.batch, rng), rng)
    label = ""
    for r in range(args.steps):
        order = ["v1", "v3"] if r % 2 == 0 else ["v3", "v1"]
        for v in order:
            trainer, sampler = models[v]
            with meter.window(v):
                trainer.step(*sampler.batch(args.batch, rng), rng)
            m = meter[v]
            times[v].append(m.duration_s)
            joules[v].append(m.energy_j)
            label = "measured" if m.measured else "estimated (" + ", ".join(m.methods) + ")"
    meter.stop()
    print(f"training step, batch {args.batch} × segment {args.segment}, config "
          f"{args.config or 'published'}, {args.steps} steps each, energy {label}, "
          f"{torch.get_num_threads()} threads")
    for v, (trainer, _) in models.items():
        p = trainer.parameter_count()
        print(f"  {v}: generator {p['generator']:,} + discriminators {p['discriminators']:,} "
              f"params; median {statistics.median(times[v]):.3f} s/step, "
              f"{statistics.median(joules[v]):.3f} J/step")
    t = statistics.median(times["v1"]) / statistics.median(times["v3"])
    e = statistics.median(joules["v1"]) / statistics.median(joules["v3"])
    print(f"  ratio V1 / V3: time {t:.2f}×, energy {e:.2f}×")


def overhead(args) -> None:
    trainer, sampler = make("hifigan-v3", "tiny", 2048, args.data)
    rng = torch.Generator().manual_seed(0)
    meter = EnergyMeter()

    def step() -> None:
        trainer.step(*sampler.batch(2, rng), rng)

    def metered() -> None:
        with meter.window("step"):
            step()

    for _ in range(3):
        step()
    bare, wrapped = [], []
    for r in range(args.overhead_steps):
        pairs = [(bare, step), (wrapped, metered)]
        for bucket, fn in pairs if r % 2 == 0 else pairs[::-1]:
            t0 = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t0)
    meter.stop()
    print(f"meter overhead on a tiny HiFi-GAN V3 training loop ({args.overhead_steps} steps "
          f"each, ABBA): median bare {statistics.median(bare) * 1e3:.1f} ms, metered "
          f"{statistics.median(wrapped) * 1e3:.1f} ms; ratio median "
          f"{statistics.median(wrapped) / statistics.median(bare):.4f}, min-of-N "
          f"{min(wrapped) / min(bare):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--segment", type=int, default=8192)
    ap.add_argument("--config", help="--config overrides for both (default: published)")
    ap.add_argument("--data", default="default")
    ap.add_argument("--overhead-steps", type=int, default=30)
    ap.add_argument("--only", choices=("versus", "overhead"), help="run one part")
    args = ap.parse_args()
    if args.only != "overhead":
        versus(args)
    if args.only != "versus":
        overhead(args)


if __name__ == "__main__":
    main()
