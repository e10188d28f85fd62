"""The ``greenvoc`` console script: parses, dispatches, prints. No logic lives here.

Each subcommand is a module of :mod:`greenvoc.commands` with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (``args -> exit code``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from greenvoc import __version__
from greenvoc.errors import GreenvocError

#: Subcommand modules under greenvoc.commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "measure", "score", "zoo", "bench", "pareto", "report", "hardware", "demo", "listen",
    "train", "footprint", "survey", "quantize",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenvoc",
        description="The energy cost of deep generative audio models next to their quality.",
    )
    parser.add_argument("--version", action="version", version=f"greenvoc {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"greenvoc.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
