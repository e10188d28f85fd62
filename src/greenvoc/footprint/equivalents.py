"""Everyday equivalents of an energy or carbon figure, from a cited table (``equivalents.csv``).

Each row is one unit of comparison: ``basis`` says whether it compares carbon (``value`` in
gCO2 per unit, e.g. per km driven) or energy (``value`` in kWh per unit, e.g. per smartphone
charge). Energy comparisons do not depend on the grid; carbon ones do, through the footprint.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from greenvoc.errors import DataFileError

TABLE_PATH = "greenvoc/data/equivalents.csv"
BASES = {"carbon": "g_co2_per_unit", "energy": "kwh_per_unit"}


@dataclass(frozen=True)
class Equivalent:
    key: str
    label: str
    value: float  # gCO2 per unit (carbon basis) or kWh per unit (energy basis)
    unit: str
    basis: str
    source: str
    notes: str = ""

    def amount(self, carbon_g: float, energy_kwh: float) -> float:
        """How many of this unit the footprint amounts to."""
        return (carbon_g if self.basis == "carbon" else energy_kwh) / self.value


@functools.cache
def load_equivalents() -> tuple[Equivalent, ...]:
    text = resources.files("greenvoc.data").joinpath("equivalents.csv").read_text()
    rows = []
    for lineno, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            eq = Equivalent(row["key"].strip(), row["label"].strip(), float(row["value"]),
                            row["unit"].strip(), row["basis"].strip(), row["source"].strip(),
                            (row.get("notes") or "").strip())
        except (KeyError, ValueError, AttributeError) as e:
            raise DataFileError(f"{TABLE_PATH}, line {lineno}: bad field {e} in {row}") from e
        if BASES.get(eq.basis) != eq.unit or not eq.value > 0 or not eq.source:
            raise DataFileError(f"{TABLE_PATH}, line {lineno}: {eq.key} needs basis/unit one of "
                                f"{BASES}, a positive value and a source")
        rows.append(eq)
    return tuple(rows)


def equivalents_for(carbon_g: float, energy_kwh: float) -> list[dict]:
    """One dict per equivalent: key, label, amount, value, unit, basis, source."""
    return [
        {"key": eq.key, "label": eq.label, "amount": eq.amount(carbon_g, energy_kwh),
         "value": eq.value, "unit": eq.unit, "basis": eq.basis, "source": eq.source}
        for eq in load_equivalents()
    ]
