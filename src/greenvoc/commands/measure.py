"""``greenvoc measure [OPTIONS] -- CMD ARGS...``: meter a command, print and store its energy."""

from __future__ import annotations

import argparse
import re
import shlex
import sys

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.energy.carbon import load_grid_table, resolve_carbon_settings
from greenvoc.energy.command import run_metered
from greenvoc.energy.meter import DEFAULT_INTERVAL_S
from greenvoc.energy.table import measurement_table
from greenvoc.errors import GreenvocError, StoreError, UsageError
from greenvoc.provenance import environment

#: The start of an SQLAlchemy URL (``dialect[+driver]://``), checked before the command runs:
#: the database itself is opened after it (see :func:`run`).
DB_URL_START = re.compile(r"^[\w+]+://")


def add_meter_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that runs the meter."""
    parser.add_argument("--country", metavar="CC", help="ISO country code of the grid "
                        "(default: GREENVOC_COUNTRY, greenvoc.toml, else the world average)")
    parser.add_argument("--pue", type=float, metavar="P",
                        help="power usage effectiveness of the facility (default 1.0)")
    parser.add_argument("--mode", choices=("process", "machine"), default="process",
                        help="what the estimate charges: the metered process tree (default) "
                        "or the whole machine")
    parser.add_argument("--interval-s", type=float, default=DEFAULT_INTERVAL_S, metavar="S",
                        help=f"sampling period for sources that need one (default "
                        f"{DEFAULT_INTERVAL_S})")
    parser.add_argument("--cpu-tdp-w", type=float, metavar="W",
                        help="TDP of one CPU package, overriding the TDP table")


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "measure",
        description="Run CMD, meter it (RAPL/NVML counters where readable, else a labelled "
        "estimate), print a table, store the measurement and exit with CMD's exit code.",
    )
    add_meter_flags(p)
    add_json_flag(p)
    add_db_flag(p)
    p.add_argument("--no-store", action="store_true", help="do not write the results database")
    p.add_argument("--list-countries", action="store_true",
                   help="list the valid country codes with their grid intensity and exit")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    p.set_defaults(func=run)


def _list_countries(as_json: bool) -> int:
    rows = sorted({e.code: e for e in load_grid_table().values()}.values(), key=lambda e: e.code)
    if as_json:
        emit_json([{"code": e.code, "country": e.country, "g_per_kwh": e.g_per_kwh,
                    "year": e.year, "source": e.source} for e in rows])
        return 0
    from rich.table import Table

    table = Table("code", "country", "gCO2eq/kWh", "year", title="grid carbon intensity")
    for e in rows:
        table.add_row(e.code, e.country, f"{e.g_per_kwh:g}", str(e.year))
    console.print(table)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_countries:
        return _list_countries(args.json)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise UsageError("no command to meter; usage: greenvoc measure [OPTIONS] -- CMD ARGS...")
    if args.interval_s <= 0:
        raise UsageError(f"--interval-s must be positive, got {args.interval_s}")
    carbon = resolve_carbon_settings(args.country, args.pue)
    if not args.no_store and args.db and not DB_URL_START.match(args.db):
        raise UsageError(f"--db {args.db!r} is not an SQLAlchemy URL; use e.g. "
                         "sqlite:///greenvoc-results/greenvoc.db or "
                         "postgresql+psycopg://user@host/db")
    result = run_metered(cmd, mode=args.mode, interval_s=args.interval_s,
                         cpu_tdp_w=args.cpu_tdp_w)
    m = result.measurement
    env = environment()
    env["meter"] = {"mode": args.mode, "interval_s": args.interval_s, "notes": list(result.notes)}
    document = {
        "command": shlex.join(cmd),
        "exit_code": result.exit_code,
        "duration_s": m.duration_s,
        "energy_j": m.energy_j,
        "energy_kwh": m.energy_kwh,
        "measured": m.measured,
        "components": {k: c.to_dict() for k, c in m.components.items()},
        "carbon_g": carbon.carbon_g(m.energy_j),
        "intensity_g_per_kwh": carbon.intensity.g_per_kwh,
        "intensity_source": f"{carbon.intensity.source} ({carbon.intensity.year})",
        "country": carbon.intensity.code,
        "pue": carbon.pue,
        "warnings": list(m.warnings),
        "notes": list(result.notes),
        "environment": env,
    }
    store_error = None if args.no_store else _store(args.db, document)
    if args.json:
        emit_json(document)
    else:
        console.print(measurement_table(m, carbon))
        in_table = " ".join(n for c in m.components.values() for n in c.notes)
        for line in dict.fromkeys([*result.notes, *m.warnings]):
            if line not in in_table:  # the table's numbered notes already say it
                console.print(f"[yellow]note:[/] {line}")
        if "db_id" in document:
            console.print(f"stored as measurement {document['db_id']} in {document['db']}")
    if store_error is not None:
        print(f"greenvoc measure: error: {store_error} (the measurement above is not stored)",
              file=sys.stderr)
        return result.exit_code or store_error.exit_code
    return result.exit_code


def _store(db: str | None, document: dict) -> GreenvocError | None:
    """Write the measurement to the database at ``db``: its id and URL go into ``document``, a
    failure is returned (and put in ``document["db_error"]``) so that the figure is still shown.

    Runs after the metered command: importing SQLAlchemy costs more CPU than the rest of
    ``greenvoc measure``, and a database that cannot be opened must not lose the measurement."""
    import sqlite3

    from greenvoc.store.defaults import default_db_url, store_error_advice
    from greenvoc.store.sqlite_append import append_measurement

    url = db or default_db_url()
    fields = {k: document[k] for k in (
        "command", "exit_code", "duration_s", "energy_j", "measured", "carbon_g",
        "intensity_g_per_kwh", "country", "pue", "components", "environment")}
    try:
        row_id = append_measurement(url, name="command", **fields)
        if row_id is None:  # a new database, another schema version, or not SQLite
            from greenvoc.store import ResultStore

            store = ResultStore(url)
            row_id, url = store.add_measurement(name="command", **fields), store.display_url
    except sqlite3.Error as e:
        error = StoreError(f"cannot write to the results database {url}: {e}; "
                           f"{store_error_advice('sqlite')}")
        document["db_error"] = str(error)
        return error
    except GreenvocError as e:
        document["db_error"] = str(e)
        return e
    document["db_id"], document["db"] = row_id, url
    return None
