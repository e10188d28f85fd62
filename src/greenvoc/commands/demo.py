"""``greenvoc demo``: the main job on the built-in default (``make demo`` runs it)."""

from __future__ import annotations

import argparse

from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.commands.measure import add_meter_flags
from greenvoc.demo import ConvWorkload, run_demo
from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.meter import EnergyMeter
from greenvoc.energy.table import measurement_table, windows_table
from greenvoc.provenance import environment
from greenvoc.store import ResultStore


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="meter a real PyTorch vocoder-shaped workload and print the meter's tables"
    )
    add_meter_flags(p)
    add_json_flag(p)
    add_db_flag(p)
    p.add_argument("--iterations", type=int, default=ConvWorkload.iterations,
                   help="conv-stack passes per window")
    p.add_argument("--no-store", action="store_true", help="do not write the results database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    carbon = resolve_carbon_settings(args.country, args.pue)
    store = None if args.no_store else ResultStore(args.db)
    workload = ConvWorkload(iterations=args.iterations)
    meter = EnergyMeter(mode=args.mode, interval_s=args.interval_s, cpu_tdp_w=args.cpu_tdp_w)
    with console.status("metering: idle, then a conv stack at 1 and all threads…"), meter:
        windows = run_demo(meter, workload)
    env = environment()
    env["meter"] = {"mode": args.mode, "interval_s": args.interval_s, "notes": meter.notes}
    env["workload"] = workload.__dict__ | {"macs_per_iteration": workload.macs_per_iteration}
    if store is not None:
        for m in [*windows, meter.measurement]:
            store.add_measurement(
                name=f"demo: {m.name}", command=None, exit_code=None, duration_s=m.duration_s,
                energy_j=m.energy_j, measured=m.measured, carbon_g=carbon.carbon_g(m.energy_j),
                intensity_g_per_kwh=carbon.intensity.g_per_kwh, country=carbon.intensity.code,
                pue=carbon.pue, components={k: c.to_dict() for k, c in m.components.items()},
                environment=env,
            )
    if args.json:
        emit_json({
            "windows": [m.to_dict() | {"carbon_g": carbon.carbon_g(m.energy_j)}
                        for m in windows],
            "total": meter.measurement.to_dict(),
            "country": carbon.intensity.code, "pue": carbon.pue,
            "intensity_g_per_kwh": carbon.intensity.g_per_kwh,
            "notes": meter.notes, "environment": env,
        })
        return 0
    console.print(measurement_table(meter.measurement, carbon))
    console.print(windows_table(windows, carbon))
    macs = workload.macs_per_iteration * workload.iterations
    for m in windows[1:]:
        console.print(f"{m.name}: {macs / m.duration_s / 1e9:.1f} GMAC/s, "
                      f"{m.energy_j / macs * 1e12:.1f} pJ per MAC")
    for note in meter.notes:
        console.print(f"[yellow]note:[/] {note}")
    if store is not None:
        console.print(f"stored {len(windows) + 1} measurements in {store.url}")
    return 0
