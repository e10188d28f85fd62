"""Subcommands of the ``greenvoc`` console script: argument parsing and printing only.

:data:`COMMANDS` names every subcommand, its one-line help and the module that registers it.
The CLI imports a command's module only when that command runs (or prints its ``--help``), and
a module imports its work (torch, SQLAlchemy, librosa...) inside the function it dispatches to:
``greenvoc --help`` and ``greenvoc measure`` must not pay seconds for other commands' libraries.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    """name: the subcommand; module: ``greenvoc.commands.<module>``, whose ``register`` adds
    its parser; help: the line ``greenvoc --help`` shows for it."""

    name: str
    module: str
    help: str


#: In the order ``greenvoc --help`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command("measure", "measure", "meter the energy and carbon of a command and its process tree"),
    Command("score", "score", "score estimates against references (PESQ, STOI, MCD, DNSMOS...)"),
    Command("zoo", "zoo", "list, describe and download the vocoder zoo"),
    Command("vocode", "zoo", "copy-synthesis of one file with one vocoder"),
    Command("bench", "bench",
            "copy-synthesis sweep: energy, speed, memory, size and quality per model"),
    Command("results", "bench", "every result row of a run"),
    Command("pareto", "pareto", "Pareto front of quality vs energy, efficiency of every model"),
    Command("report", "report", "HTML report of a run: plots, Pareto front, deployment carbon"),
    Command("hardware", "hardware",
            "show the energy counters found here and the estimate's constants"),
    Command("demo", "demo",
            "the main job: bench the default zoo on the default corpus, then report"),
    Command("listen", "listen", "human listening tests (ACR, MUSHRA, A/B) in the browser"),
    Command("train", "train", "train a vocoder with every step metered (energy, kWh, gCO2eq)"),
    Command("footprint", "footprint",
            "estimate training energy and carbon (any job or a published model)"),
    Command("survey", "survey",
            "share of published generative-audio papers reporting each measure"),
    Command("quantize", "quantize",
            "build a quantized variant of a zoo model and check it against fp32"),
)

_BY_NAME = {c.name: c for c in COMMANDS}


def add_command_parser(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """``subparsers.add_parser(name, ...)`` with the help line of :data:`COMMANDS`, the one place
    it is written (``greenvoc --help`` lists commands without importing their modules)."""
    if name not in _BY_NAME:
        raise ValueError(f"subcommand {name!r} is not in greenvoc.commands.COMMANDS; add it "
                         "there with its module and help line")
    return subparsers.add_parser(name, help=_BY_NAME[name].help, **kwargs)
