"""``greenvoc train``: metered training of a zoo family, with its energy projected to the
published schedule."""

from __future__ import annotations

import argparse

from rich.table import Table

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json

#: The names of :data:`greenvoc.train.RECIPES`, for the help (which must not import torch to
#: read them); tests/cli/test_startup.py keeps the two equal. An unknown NAME exits 2 with the
#: valid names when the command runs.
RECIPE_NAMES = ("hifigan-v1", "hifigan-v2", "hifigan-v3", "melgan", "vocos", "diffwave")


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "train",
        description="Train NAME (" + ", ".join(RECIPE_NAMES) + ") with every step inside the "
        "energy meter; checkpoints, --resume, an energy budget, and a projection of the "
        "published schedule's energy and carbon.")
    p.add_argument("name", metavar="NAME", help="recipe: " + ", ".join(RECIPE_NAMES))
    p.add_argument("--data", default="default",
                   help="training corpus: default, a folder of audio, or FORMAT:PATH")
    p.add_argument("--steps", type=int, required=True,
                   help="train up to this step (with --resume: continue up to it)")
    p.add_argument("--batch", type=int, help="batch size (default: the published one)")
    p.add_argument("--segment", type=int,
                   help="samples per training segment (default: the published one)")
    p.add_argument("--energy-budget-kwh", type=float, metavar="X",
                   help="stop before a step that would take the run past X kWh")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --out")
    p.add_argument("--out", default="greenvoc-results/train",
                   help="folder for the checkpoint and the CSV logs")
    p.add_argument("--config", metavar="SPEC",
                   help="generator overrides: 'tiny' and/or FIELD=VALUE pairs separated by "
                   "';' (e.g. 'upsample_initial_channel=32;disc_width=0.25')")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validate-every", type=int, default=0, metavar="N",
                   help="validate on held-out clips every N steps and at the end (0: never)")
    p.add_argument("--val-clips", type=int, default=1, help="held-out clips (default 1)")
    p.add_argument("--no-dnsmos", action="store_true", help="validate with mel L1 only")
    p.add_argument("--checkpoint-every", type=int, default=500, metavar="N")
    p.add_argument("--threads", type=int, help="torch intra-op threads")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the GPU is metered by NVML)")
    p.add_argument("--country", help="grid for gCO2eq (ISO code; default: config or world)")
    p.add_argument("--pue", type=float, help="data-centre PUE (default 1.0)")
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def _print(summary) -> None:
    console.print(
        f"run {summary.run_id} ({summary.recipe}): {summary.status}, steps "
        f"{summary.start_step}→{summary.end_step}; {summary.energy_j:.4g} J "
        f"({summary.energy_j / 3.6e6:.3g} kWh), {summary.carbon_g:.3g} gCO2eq, "
        f"{summary.j_per_step:.3g} J/step, {summary.energy_label}")
    if summary.message:
        console.print(summary.message)
    if summary.projection:
        table = Table(title="PROJECTION of the published schedule (not a measurement)")
        for col in ("scenario", "steps", "hours", "kWh", "gCO2eq", "basis"):
            table.add_column(col, overflow="fold")
        for r in summary.projection:
            table.add_row(r["scenario"], f"{r['steps']:,}",
                          "" if r["hours"] is None else f"{r['hours']:.3g}",
                          f"{r['energy_kwh']:.3g}", f"{r['carbon_g']:.3g}", r["basis"])
        console.print(table)
    else:
        console.print("no projection: the published schedule's step count is not stated")
    for v in summary.validations:
        console.print(f"validation at step {v['step']}: mel L1 {v['mel_l1']}, DNSMOS OVRL "
                      f"{v['dnsmos_ovrl']}, after {v['cumulative_energy_j']:.4g} J")


def run(args: argparse.Namespace) -> int:
    from greenvoc.store import ResultStore
    from greenvoc.train import TrainConfig, train

    cfg = TrainConfig(
        recipe=args.name, data=args.data, steps=args.steps, batch=args.batch,
        segment=args.segment, energy_budget_kwh=args.energy_budget_kwh, out_dir=args.out,
        resume=args.resume, seed=args.seed, config=args.config, device=args.device,
        validate_every=args.validate_every, val_clips=args.val_clips,
        dnsmos=not args.no_dnsmos, checkpoint_every=args.checkpoint_every,
        threads=args.threads, country=args.country, pue=args.pue)
    store = ResultStore(args.db)
    summary = train(cfg, store, console=console, progress=not args.json)
    if args.json:
        emit_json(summary.to_dict() | {"db": store.display_url})
    else:
        _print(summary)
    return 0
