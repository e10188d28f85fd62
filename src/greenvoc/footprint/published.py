"""The training setups that papers on generative audio report (``published_models.csv``).

Each row is what one paper states about how its model was trained: the hardware in the
paper's words, the table key of that hardware (``gpu``), the device count, the training time
in hours, steps and batch, with the citation and the section or table it comes from.

``reported`` says how much of (hardware model, device count, training time) the paper gives:
``yes`` all three, ``partial`` some, ``no`` none; ``unchecked`` means the paper could not be
read for this table, so nothing is entered and no absence is claimed; ``author`` means the
figures are an author's public statement outside the paper (``source`` names where), the
paper itself not read for them. ``verified`` is ``yes`` when the figures were checked against a
stored copy of the paper's wording while building the table. Empty numeric fields are
``None``: never a guess.
"""

from __future__ import annotations

import csv
import difflib
import functools
from dataclasses import dataclass
from importlib import resources

from greenvoc.errors import DataFileError, UsageError
from greenvoc.footprint.gpus import lookup_gpu, normalise

TABLE_PATH = "greenvoc/data/published_models.csv"
REPORTED = ("yes", "partial", "no", "unchecked", "author")
REQUIRED_TEXT = ("key", "model", "venue", "citation", "source", "source_section", "reported",
                 "verified")


@dataclass(frozen=True)
class PublishedModel:
    """One published model's training setup as its paper reports it."""

    key: str
    model: str
    year: int
    venue: str
    citation: str
    arxiv: str
    source: str
    source_section: str
    hardware: str
    gpu: str | None  # key into gpu_power.csv, None when the paper names no model
    device_count: int | None
    train_hours: float | None
    steps: int | None
    batch: str
    reported: str
    verified: bool
    notes: str

    @property
    def missing(self) -> tuple[str, ...]:
        """Which of the three inputs of a footprint the paper does not give."""
        pairs = (("hardware model", self.gpu), ("device count", self.device_count),
                 ("training time", self.train_hours))
        return tuple(name for name, value in pairs if value is None)

    @property
    def computable(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict:
        return {
            "key": self.key, "model": self.model, "year": self.year, "venue": self.venue,
            "citation": self.citation, "arxiv": self.arxiv, "source": self.source,
            "source_section": self.source_section, "hardware": self.hardware or None,
            "gpu": self.gpu, "device_count": self.device_count, "train_hours": self.train_hours,
            "steps": self.steps, "batch": self.batch or None, "reported": self.reported,
            "verified": self.verified, "notes": self.notes, "computable": self.computable,
            "missing": list(self.missing),
        }


def _optional(row: dict, field: str, kind: type):
    raw = (row.get(field) or "").strip()
    return kind(raw) if raw else None


def _parse_row(row: dict, lineno: int) -> PublishedModel:
    where = f"{TABLE_PATH}, line {lineno}"
    for field in REQUIRED_TEXT:
        if not (row.get(field) or "").strip():
            raise DataFileError(f"{where}: empty {field!r}; every row needs it")
    try:
        model = PublishedModel(
            key=row["key"].strip(), model=row["model"].strip(), year=int(row["year"]),
            venue=row["venue"].strip(), citation=row["citation"].strip(),
            arxiv=row["arxiv"].strip(), source=row["source"].strip(),
            source_section=row["source_section"].strip(), hardware=row["hardware"].strip(),
            gpu=(row["gpu"] or "").strip() or None,
            device_count=_optional(row, "device_count", int),
            train_hours=_optional(row, "train_hours", float),
            steps=_optional(row, "steps", int), batch=row["batch"].strip(),
            reported=row["reported"].strip(), verified=row["verified"].strip() == "yes",
            notes=row["notes"].strip(),
        )
    except (KeyError, ValueError) as e:
        raise DataFileError(f"{where}: bad field {e}; numbers must be plain (67.2, 400000)") from e
    if model.reported not in REPORTED:
        raise DataFileError(f"{where}: reported must be one of {REPORTED}, got {model.reported!r}")
    if model.reported == "author" and model.source.count("https://") < 2:
        raise DataFileError(f"{where}: reported 'author' needs the address of the author's "
                            "statement in 'source', after the paper's")
    if model.gpu is not None:
        lookup_gpu(model.gpu)  # a typo in the table fails loudly, not at footprint time
    return model


@functools.cache
def load_published_models() -> dict[str, PublishedModel]:
    """The table keyed by ``key`` (e.g. ``hifigan-v1``), in file order."""
    text = resources.files("greenvoc.data").joinpath("published_models.csv").read_text()
    models: dict[str, PublishedModel] = {}
    for lineno, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        model = _parse_row(row, lineno)
        if model.key in models:
            raise DataFileError(f"{TABLE_PATH}, line {lineno}: duplicate key {model.key!r}")
        models[model.key] = model
    return models


def lookup_model(name: str) -> PublishedModel:
    """By key or display name, any case or punctuation; exit 2 with the closest keys."""
    models = load_published_models()
    by_norm = {normalise(m.key): m for m in models.values()}
    by_norm.update({normalise(m.model): m for m in models.values()})
    found = by_norm.get(normalise(name))
    if found is None:
        close = difflib.get_close_matches(name.lower(), list(models), n=4, cutoff=0.4)
        close += [m.key for n, m in by_norm.items() if normalise(name) in n]
        names = list(dict.fromkeys(close)) or list(models)[:8]
        raise UsageError(f"unknown published model {name!r}; closest: {', '.join(names)} "
                         f"(all: `greenvoc footprint --list`, table {TABLE_PATH})")
    return found
