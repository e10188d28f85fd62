"""CSV logs of a training run in its output folder: ``train_log.csv`` (one row per step) and
``validation.csv``. On resume, rows after the checkpoint's step are dropped, as in the database."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

STEP_COLUMNS = ("step", "energy_j", "cumulative_energy_j", "cumulative_kwh", "carbon_g",
                "cumulative_carbon_g", "duration_s", "measured", "energy_method", "lr")
VALIDATION_COLUMNS = ("step", "cumulative_energy_j", "cumulative_kwh", "mel_l1", "dnsmos_ovrl",
                      "n_clips", "validation_energy_j")


class CsvLog:
    """Appends rows to ``path``; the first row fixes the header (fixed columns, then the loss
    names ``loss_<name>`` in sorted order)."""

    def __init__(self, path: Path, fixed: tuple[str, ...]) -> None:
        self.path, self.fixed = path, fixed
        self.header: list[str] | None = None
        if path.is_file():
            with path.open(newline="") as f:
                self.header = next(csv.reader(f), None)

    def truncate_after(self, step: int) -> None:
        if not self.path.is_file():
            return
        with self.path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.header or list(self.fixed))
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: dict[str, Any]) -> None:
        if self.header is None:
            extra = sorted(k for k in row if k not in self.fixed)
            self.header = [*self.fixed, *extra]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(self.header)
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.header, extrasaction="ignore").writerow(row)

    def rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as f:
            return list(csv.DictReader(f))
