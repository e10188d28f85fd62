"""What papers on deep generative audio report (``literature_metrics.csv``).

One row per paper; one yes/no column per evaluation measure. ``mos_mushra`` counts any formal
listening test (MOS, CMOS, SMOS, MUSHRA, or a paired preference test; the notes say which);
``fad`` counts Fréchet audio distances on any embedding (VGGish, TRILL, OpenL3);
``speed_rtf`` counts synthesis speed, real-time factor or latency (not training speed);
``energy_carbon`` counts energy or carbon figures for training or inference.

Rows of category ``energy study`` are studies that measure the energy of other people's models
(Douwes et al. 2021, Passoni et al. 2025). They are cited with the survey but left out of its
shares, which describe how papers proposing models report them.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from greenvoc.errors import DataFileError

TABLE_PATH = "greenvoc/data/literature_metrics.csv"
MEASURES: dict[str, str] = {
    "mos_mushra": "listening test (MOS/MUSHRA)",
    "pesq": "PESQ",
    "stoi": "STOI",
    "mcd": "MCD",
    "fad": "FAD",
    "speed_rtf": "speed / RTF",
    "params": "parameters",
    "flops": "FLOPs",
    "energy_carbon": "energy / carbon",
}
ENERGY_STUDY = "energy study"
CATEGORIES = ("vocoder", "TTS", "music generation", "audio generation", "codec", ENERGY_STUDY)


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    authors: str
    venue: str
    year: int
    category: str
    source: str
    reports: frozenset[str]  # the MEASURES keys this paper reports
    verified: bool
    notes: str

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "authors": self.authors,
                "venue": self.venue, "year": self.year, "category": self.category,
                "source": self.source, **{m: m in self.reports for m in MEASURES},
                "verified": self.verified, "notes": self.notes}


def _parse_row(row: dict, lineno: int) -> Paper:
    where = f"{TABLE_PATH}, line {lineno}"
    for field in ("key", "title", "venue", "source"):
        if not (row.get(field) or "").strip():
            raise DataFileError(f"{where}: empty {field!r}; every paper needs it")
    bad = {m: row.get(m) for m in MEASURES if row.get(m) not in ("yes", "no")}
    if bad or row.get("verified") not in ("yes", "no") or row.get("category") not in CATEGORIES:
        raise DataFileError(f"{where}: measures and verified must be yes/no (got {bad}), "
                            f"category one of {CATEGORIES}")
    try:
        year = int(row["year"])
    except ValueError as e:
        raise DataFileError(f"{where}: year {row['year']!r} is not a number") from e
    return Paper(row["key"].strip(), row["title"].strip(), row["authors"].strip(),
                 row["venue"].strip(), year, row["category"], row["source"].strip(),
                 frozenset(m for m in MEASURES if row[m] == "yes"), row["verified"] == "yes",
                 (row.get("notes") or "").strip())


@functools.cache
def _load_table() -> tuple[Paper, ...]:
    text = resources.files("greenvoc.data").joinpath("literature_metrics.csv").read_text()
    papers = tuple(_parse_row(r, n) for n, r in enumerate(csv.DictReader(text.splitlines()), 2))
    keys = [p.key for p in papers]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise DataFileError(f"{TABLE_PATH}: duplicate keys {dupes}; keep one row per paper")
    return papers


def load_papers() -> tuple[Paper, ...]:
    """The survey's sample: papers that propose a model (every category but energy studies)."""
    return tuple(p for p in _load_table() if p.category != ENERGY_STUDY)


def energy_studies() -> tuple[Paper, ...]:
    """Studies that measure the energy of generative audio models, cited with the survey."""
    return tuple(p for p in _load_table() if p.category == ENERGY_STUDY)


def measure_shares(papers: Sequence[Paper] | None = None) -> dict[str, float]:
    """Share of ``papers`` (default: :func:`load_papers`, the energy studies left out)
    reporting each measure, in [0, 1]."""
    papers = load_papers() if papers is None else papers
    if not papers:
        return {m: 0.0 for m in MEASURES}
    return {m: sum(m in p.reports for p in papers) / len(papers) for m in MEASURES}
