"""``greenvoc hardware``: which energy counters this machine has, and what the estimate uses."""

from __future__ import annotations

import argparse

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_json_flag, console, emit_json
from greenvoc.energy.estimate import RAM_W_PER_GB, RAM_W_PER_GB_SOURCE, CpuPowerModel
from greenvoc.energy.probe import probe_counters
from greenvoc.provenance import hardware


def register(subparsers) -> None:
    p = add_command_parser(subparsers, "hardware")
    p.add_argument("--cpu-tdp-w", type=float, metavar="W", help="TDP override to show")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sources, notes = probe_counters()
    model = CpuPowerModel.for_this_machine(args.cpu_tdp_w)
    document = {
        "hardware": hardware(),
        "counters": [
            {"component": name, "method": s.method, "domain": info.domain,
             "detail": dict(info.detail)}
            for s in sources for name, info in s.components().items()
        ],
        "missing": notes,
        "estimate": {
            "cpu_w_per_logical_cpu": model.w_per_logical_cpu,
            "cpu_source": model.source,
            "ram_w_per_gb": RAM_W_PER_GB,
            "ram_source": RAM_W_PER_GB_SOURCE,
        },
    }
    for s in sources:
        s.close()
    if args.json:
        emit_json(document)
        return 0
    hw = document["hardware"]
    console.print(f"[bold]CPU[/] {hw['cpu_model']} — {hw['logical_cpus']} logical CPUs, "
                  f"{hw['ram_gb']} GB RAM")
    for c in document["counters"]:
        console.print(f"[green]counter[/] {c['component']} ({c['method']}, {c['domain']})")
    for note in notes:  # counters missing or partial (a domain left to the estimate), and why
        console.print(f"[yellow]note[/] {note}")
    console.print(f"[bold]estimate[/] CPU {model.w_per_logical_cpu:.2f} W per busy logical CPU "
                  f"({model.source}); RAM {RAM_W_PER_GB} W/GB ({RAM_W_PER_GB_SOURCE})")
    return 0
