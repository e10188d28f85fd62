"""``greenvoc footprint``: training energy, carbon and everyday equivalents.

Three modes: ``--gpu NAME --count N --hours H`` for any job; ``--model KEY`` for a published
model, from what its paper reports (``--gpu/--count/--hours`` then fill or replace the paper's
figures and are labelled user-supplied); ``--list`` / ``--list-gpus`` for the tables.
"""

from __future__ import annotations

import argparse

from rich.table import Table

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_json_flag, console, emit_json
from greenvoc.errors import UsageError
from greenvoc.footprint.calculator import Footprint, estimate_training_footprint
from greenvoc.footprint.gpus import load_gpu_table
from greenvoc.footprint.published import PublishedModel, load_published_models, lookup_model


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "footprint",
        description="energy = board power × utilisation × devices × hours × PUE; "
                    "carbon = energy × grid intensity. An estimate, never a measurement.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--model", metavar="KEY", help="a published model (see --list)")
    mode.add_argument("--list", action="store_true", help="list the published models")
    mode.add_argument("--list-gpus", action="store_true", help="list the GPU power table")
    p.add_argument("--gpu", metavar="NAME", help="accelerator, e.g. V100, 'A100 PCIe 40GB', T4")
    p.add_argument("--count", type=int, metavar="N", help="number of devices")
    p.add_argument("--hours", type=float, metavar="H", help="training wall-clock hours")
    p.add_argument("--country", metavar="CC", help="ISO country code of the grid (default: world)")
    p.add_argument("--pue", type=float, metavar="P", help="data-centre PUE (default 1.0)")
    p.add_argument("--utilization", type=float, metavar="U",
                   help="mean share of board power drawn, in (0, 1] (default 1.0: upper bound)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _check_signs(args: argparse.Namespace) -> None:
    if args.count is not None and args.count < 1:
        raise UsageError(f"--count must be ≥ 1, got {args.count}")
    if args.hours is not None and not args.hours >= 0:
        raise UsageError(f"--hours must be ≥ 0, got {args.hours}")


def run(args: argparse.Namespace) -> int:
    _check_signs(args)
    if args.list:
        return _list_models(args.json)
    if args.list_gpus:
        return _list_gpus(args.json)
    if args.model:
        return _published(args)
    if args.gpu is None or args.count is None or args.hours is None:
        raise UsageError("give --gpu NAME --count N --hours H, or --model KEY, or --list")
    fp = estimate_training_footprint(args.gpu, args.count, args.hours, country=args.country,
                                     pue=args.pue, utilization=args.utilization)
    if args.json:
        emit_json(fp.to_dict())
    else:
        _print_footprint(fp, f"{fp.device_count} × {fp.gpu} for {fp.hours:g} h")
    return 0


def _published(args: argparse.Namespace) -> int:
    model = lookup_model(args.model)
    overrides = {"gpu": args.gpu, "device count": args.count, "training time": args.hours}
    supplied = [name for name, value in overrides.items() if value is not None]
    gpu = args.gpu or model.gpu
    count = args.count if args.count is not None else model.device_count
    hours = args.hours if args.hours is not None else model.train_hours
    missing = [n for n, v in (("hardware model", gpu), ("device count", count),
                              ("training time", hours)) if v is None]
    doc: dict = {"model": model.to_dict(), "computable": not missing,
                 "user_supplied": supplied, "missing": missing, "message": None}
    fp = None
    if missing:
        doc["message"] = _not_computable(model, missing)
    else:
        labels = tuple(f"{name} user-supplied, not from the paper" for name in supplied)
        fp = estimate_training_footprint(
            gpu, count, hours, country=args.country, pue=args.pue,
            utilization=args.utilization,
            extra_assumptions=(f"setup from {model.citation}, {model.source_section}", *labels),
        )
        doc.update(fp.to_dict())
    if args.json:
        emit_json(doc)
        return 0
    _print_model(model)
    if fp is None:
        console.print(f"[yellow]{doc['message']}[/]")
    else:
        if supplied:
            console.print(f"[yellow]user-supplied, not from the paper: {', '.join(supplied)}[/]")
        _print_footprint(fp, f"{model.model}: {fp.device_count} × {fp.gpu} for {fp.hours:g} h")
    return 0


def _not_computable(model: PublishedModel, missing: list[str]) -> str:
    what = ", ".join(missing)
    if model.reported == "unchecked":
        why = ("the paper's training setup could not be checked for this table, so no figures "
               "are entered")
    else:
        why = f"the paper does not report the {what}"
    return (f"{model.model}: no footprint can be computed: {why}. Supply the missing values "
            f"yourself (e.g. --gpu V100 --count 8 --hours 100) to compute one, labelled as "
            f"user-supplied.")


def _print_model(m: PublishedModel) -> None:
    t = Table(title=f"{m.model} — what the paper reports", show_header=False)
    for label, value in (
        ("citation", m.citation), ("source", f"{m.source} ({m.source_section})"),
        ("hardware", m.hardware or "not reported"),
        ("devices", m.device_count), ("training hours", m.train_hours),
        ("steps", m.steps), ("batch", m.batch or None),
        ("reported", m.reported), ("checked against paper text", "yes" if m.verified else "no"),
        ("notes", m.notes),
    ):
        t.add_row(label, "—" if value in (None, "") else str(value))
    console.print(t)


def _print_footprint(fp: Footprint, title: str) -> None:
    t = Table(title=f"{title} (estimated)", show_header=False)
    t.add_row("energy", f"{fp.energy_kwh:,.1f} kWh (PUE {fp.pue:g})")
    t.add_row("carbon", f"{fp.carbon_g / 1000:,.1f} kgCO2eq at {fp.intensity_g_per_kwh:g} "
                        f"g/kWh ({fp.country})")
    console.print(t)
    eq = Table(title="everyday equivalents")
    for col in ("as much as", "equivalent", "source"):
        eq.add_column(col, overflow="fold")
    for e in fp.equivalents():
        eq.add_row(f"{e['amount']:,.3g}", e["label"], e["source"])
    console.print(eq)
    for line in fp.assumptions:
        console.print(f"  assumption: {line}")
    for src in fp.sources:
        console.print(f"  source: {src}")


def _list_models(as_json: bool) -> int:
    models = list(load_published_models().values())
    if as_json:
        emit_json({"models": [m.to_dict() for m in models]})
        return 0
    t = Table(title=f"{len(models)} published models (greenvoc/data/published_models.csv)")
    for col in ("key", "model", "venue", "hardware", "hours", "reported", "source"):
        t.add_column(col, overflow="fold")
    for m in models:
        t.add_row(m.key, m.model, f"{m.venue} {m.year}", m.hardware or "—",
                  "—" if m.train_hours is None else f"{m.train_hours:g}", m.reported,
                  f"{m.source} {m.source_section}")
    console.print(t)
    return 0


def _list_gpus(as_json: bool) -> int:
    rows = load_gpu_table()
    if as_json:
        emit_json({"gpus": [{"name": r.name, "board_power_w": r.board_power_w, "kind": r.kind,
                             "unit": r.unit, "aliases": list(r.aliases), "source": r.source,
                             "notes": r.notes} for r in rows]})
        return 0
    t = Table(title="accelerator board power (greenvoc/data/gpu_power.csv)")
    for col in ("name", "W", "aliases", "source"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r.name, f"{r.board_power_w:g}", ", ".join(r.aliases), r.source)
    console.print(t)
    return 0
