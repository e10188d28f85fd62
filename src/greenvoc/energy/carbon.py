"""Energy to carbon: grid intensity by country (a cited table), PUE, gCO2eq.

Offline by design: the country never comes from an IP lookup, only from a flag, the
``GREENVOC_COUNTRY`` environment variable, or a config file (``./greenvoc.toml`` or
``$XDG_CONFIG_HOME/greenvoc/config.toml``, table ``[carbon]`` with ``country`` and ``pue``).
"""

from __future__ import annotations

import csv
import functools
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from greenvoc.energy.measurement import J_PER_KWH
from greenvoc.errors import DataFileError, UsageError

WORLD = "WORLD"
DEFAULT_PUE = 1.0
TABLE_PATH = "greenvoc/data/grid_intensity.csv"


@dataclass(frozen=True)
class GridIntensity:
    """Life-cycle carbon intensity of a grid's electricity (gCO2eq per kWh), with its source."""

    code: str  # ISO 3166-1 alpha-2, or "WORLD"
    country: str
    g_per_kwh: float
    year: int
    source: str


@dataclass(frozen=True)
class CarbonSettings:
    """Where the carbon conversion's inputs came from (flag, environment, config file, default)."""

    intensity: GridIntensity
    pue: float
    origin: str

    def carbon_g(self, energy_j: float) -> float:
        return carbon_g(energy_j, self.intensity.g_per_kwh, self.pue)


def carbon_g(energy_j: float, g_per_kwh: float, pue: float = DEFAULT_PUE) -> float:
    """gCO2eq of ``energy_j`` joules drawn by IT equipment in a facility of the given PUE."""
    return energy_j / J_PER_KWH * pue * g_per_kwh


@functools.cache
def load_grid_table() -> dict[str, GridIntensity]:
    """The table keyed by ISO alpha-2 and alpha-3 code (upper case) and ``WORLD``."""
    text = resources.files("greenvoc.data").joinpath("grid_intensity.csv").read_text()
    table: dict[str, GridIntensity] = {}
    for lineno, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            entry = GridIntensity(
                row["iso2"].strip().upper(),
                row["country"].strip(),
                float(row["g_co2eq_per_kwh"]),
                int(row["year"]),
                row["source"].strip(),
            )
        except (KeyError, ValueError, TypeError) as e:
            raise DataFileError(f"{TABLE_PATH}, line {lineno}: bad field {e} in {row}") from e
        table[entry.code] = entry
        if row.get("iso3"):
            table[row["iso3"].strip().upper()] = entry
    if WORLD not in table:
        raise DataFileError(f"{TABLE_PATH} has no WORLD row; restore it from the package")
    return table


def grid_intensity(country: str | None = None) -> GridIntensity:
    """Intensity for an ISO 3166-1 alpha-2/alpha-3 code (any case); ``None`` → world average."""
    table = load_grid_table()
    code = (country or WORLD).strip().upper()
    if code not in table:
        raise UsageError(
            f"unknown country code {country!r}: use an ISO 3166-1 code such as FR, US, DE or "
            f"WORLD; the valid codes are listed by `greenvoc measure --list-countries` "
            f"(from {TABLE_PATH})"
        )
    return table[code]


def _config_files() -> list[Path]:
    xdg = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return [Path.cwd() / "greenvoc.toml", xdg / "greenvoc" / "config.toml"]


def _from_config_file() -> tuple[dict, str]:
    for path in _config_files():
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as e:
                raise UsageError(f"{path}: not valid TOML ({e}); fix or remove the file") from e
            section = data.get("carbon", {})
            if not isinstance(section, dict):
                raise UsageError(f"{path}: [carbon] must be a table with country and pue")
            return section, str(path)
    return {}, ""


def resolve_carbon_settings(country: str | None = None, pue: float | None = None) -> CarbonSettings:
    """Flag, then environment (``GREENVOC_COUNTRY``, ``GREENVOC_PUE``), then config file."""
    config, config_path = _from_config_file()
    origins = []
    if country is not None:
        origins.append("country from flag")
    elif os.environ.get("GREENVOC_COUNTRY"):
        country = os.environ["GREENVOC_COUNTRY"]
        origins.append("country from GREENVOC_COUNTRY")
    elif config.get("country"):
        country = str(config["country"])
        origins.append(f"country from {config_path}")
    else:
        origins.append("country not set: world average")
    if pue is None:
        raw = os.environ.get("GREENVOC_PUE") or config.get("pue")
        where = "GREENVOC_PUE" if os.environ.get("GREENVOC_PUE") else config_path
        try:
            pue = float(raw) if raw is not None else DEFAULT_PUE
        except ValueError as e:
            raise UsageError(f"PUE {raw!r} from {where} is not a number (e.g. 1.2)") from e
        origins.append(f"PUE from {where}" if raw is not None else "PUE default 1.0")
    else:
        origins.append("PUE from flag")
    if not pue >= 1.0:
        raise UsageError(f"PUE must be ≥ 1.0 (facility energy / IT energy), got {pue}")
    return CarbonSettings(grid_intensity(country), float(pue), "; ".join(origins))
