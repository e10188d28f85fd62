"""The ``greenvoc`` console script: parses, dispatches, prints. No logic lives here.

Each subcommand is listed in :data:`greenvoc.commands.COMMANDS` with the module whose
``register(subparsers)`` adds its parser and sets ``func`` (``args -> exit code``). Only the
module of the command being run is imported: start-up is part of what ``greenvoc measure``
costs, and ``greenvoc --help`` imports no command at all.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Collection, Sequence

from greenvoc import __version__
from greenvoc.commands import COMMANDS
from greenvoc.errors import GreenvocError


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``greenvoc`` parser. The modules of ``commands`` (default: every command) are
    imported and their parsers registered in full; the other commands are listed by name and
    help line only."""
    parser = argparse.ArgumentParser(
        prog="greenvoc",
        description="The energy cost of deep generative audio models next to their quality.",
    )
    parser.add_argument("--version", action="version", version=f"greenvoc {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = {c.name for c in COMMANDS} if commands is None else set(commands)
    for module in dict.fromkeys(c.module for c in COMMANDS if c.name in wanted):
        importlib.import_module(f"greenvoc.commands.{module}").register(subparsers)
    for c in COMMANDS:
        if c.name not in subparsers.choices:
            subparsers.add_parser(c.name, help=c.help)
    return parser


def selected_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs: its first word that is not an option (the top-level
    options take no value), if that is a command's name."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in {c.name for c in COMMANDS} else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = selected_command(argv)
    parser = build_parser([command] if command else [])
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except GreenvocError as e:
        print(f"greenvoc {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"greenvoc {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
