"""Accelerator board power from a cited table (``greenvoc/data/gpu_power.csv``).

Board power is the manufacturer's maximum power of the whole board (NVIDIA "max power
consumption" / "max TDP" / "total graphics power"; for TPUs, Google's chip TDP). A training job
rarely draws it all the time, so the footprint calculator scales it by a utilisation factor.
Names are matched after normalisation (case, spaces, hyphens and the ``nvidia``/``tesla``/
``geforce`` prefixes ignored) against each row's name and its aliases; an unknown name is a
:class:`~greenvoc.errors.UsageError` that lists the closest names.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from dataclasses import dataclass
from importlib import resources

from greenvoc.errors import DataFileError, UsageError

TABLE_PATH = "greenvoc/data/gpu_power.csv"
KINDS = ("gpu", "tpu")
_PREFIXES = re.compile(r"\b(nvidia|tesla|geforce|google|cloud)\b")


@dataclass(frozen=True)
class AcceleratorPower:
    """One row: the board's rated power and where the figure comes from."""

    name: str
    board_power_w: float
    kind: str  # "gpu" or "tpu"
    unit: str  # what one device is: a "board" or a TPU "chip"
    aliases: tuple[str, ...]
    source: str
    notes: str = ""


def normalise(name: str) -> str:
    """``"NVIDIA Tesla V100-SXM2"`` → ``"v100sxm2"``: the key names are matched on."""
    text = _PREFIXES.sub(" ", name.lower())
    return re.sub(r"[^a-z0-9]+", "", text)


def _parse_row(row: dict, lineno: int) -> AcceleratorPower:
    try:
        entry = AcceleratorPower(
            name=row["name"].strip(),
            board_power_w=float(row["board_power_w"]),
            kind=row["kind"].strip(),
            unit=row["unit"].strip(),
            aliases=tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()),
            source=(row.get("source") or "").strip(),
            notes=(row.get("notes") or "").strip(),
        )
    except (KeyError, ValueError, AttributeError) as e:
        raise DataFileError(f"{TABLE_PATH}, line {lineno}: bad field {e} in {row}") from e
    if not entry.source:
        raise DataFileError(f"{TABLE_PATH}, line {lineno}: {entry.name} has no source; cite one")
    if entry.kind not in KINDS or not entry.board_power_w > 0:
        raise DataFileError(f"{TABLE_PATH}, line {lineno}: kind must be one of {KINDS} and "
                            f"board_power_w > 0, got {entry.kind!r}, {entry.board_power_w}")
    return entry


@functools.cache
def load_gpu_table() -> tuple[AcceleratorPower, ...]:
    """Every row of the table, in file order."""
    text = resources.files("greenvoc.data").joinpath("gpu_power.csv").read_text()
    return tuple(_parse_row(row, n) for n, row in enumerate(csv.DictReader(text.splitlines()), 2))


@functools.cache
def _index() -> dict[str, AcceleratorPower]:
    index: dict[str, AcceleratorPower] = {}
    for entry in load_gpu_table():
        for key in (entry.name, *entry.aliases):
            norm = normalise(key)
            if norm in index and index[norm] is not entry:
                raise DataFileError(f"{TABLE_PATH}: {key!r} names both {index[norm].name} and "
                                    f"{entry.name}; keep it on one row")
            index[norm] = entry
    return index


def gpu_names() -> list[str]:
    """The canonical names, in table order."""
    return [e.name for e in load_gpu_table()]


def lookup_gpu(name: str) -> AcceleratorPower:
    """The row for ``name`` (any case or spelling of a name or alias); exit 2 with close names."""
    entry = _index().get(normalise(name))
    if entry is None:
        by_norm = {normalise(n): n for n in gpu_names()}
        close = difflib.get_close_matches(normalise(name), list(_index()), n=4, cutoff=0.5)
        names = list(dict.fromkeys(_index()[c].name for c in close)) or list(by_norm.values())[:8]
        raise UsageError(
            f"unknown GPU {name!r}; closest: {', '.join(names)} "
            f"(all names: `greenvoc footprint --list-gpus`, table {TABLE_PATH})"
        )
    return entry


def gpu_board_power_w(name: str) -> float:
    """Rated board power in watts of the accelerator called ``name``."""
    return lookup_gpu(name).board_power_w
