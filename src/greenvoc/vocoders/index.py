"""The zoo index: what ``greenvoc zoo list`` prints, read without importing torch.

The registry imports every family module (torch and the shared blocks) and counting parameters
builds every network: seconds of CPU to print a table of metadata. The index is that table,
generated from the real specs, with parameters counted by building each network on the meta
device (:func:`greenvoc.vocoders.inspect.count_params`), and shipped as
``greenvoc/data/zoo_index.json``. It records a digest of the sources it was generated from; in
a checkout where they have changed since, :func:`zoo_entries` answers from the registry instead,
so a listing is never stale, only slower. Regenerate it with ``python -m greenvoc.vocoders.index``
(``tests/vocoders/test_zoo_index.py`` fails until then).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenvoc.errors import DataFileError
from greenvoc.vocoders.weights import has_usable_weights

if TYPE_CHECKING:
    from greenvoc.vocoders.base import VocoderSpec

INDEX_FILE = "zoo_index.json"
_PACKAGE = Path(__file__).resolve().parents[1]

#: What an entry's metadata is computed from: the specs and the networks they build (families,
#: blocks, base) and the mel front-ends (sample rate, hop).
SOURCE_GLOBS = ("vocoders/base.py", "vocoders/families/*.py", "vocoders/blocks/*.py",
                "audio/presets.py")


@dataclass(frozen=True)
class EntryWeights:
    """Where the entry's checkpoint is looked for (the locating fields of its WeightsSource)."""

    kind: str
    package: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class ZooEntry:
    """One registered vocoder, as listed. params: counted on the meta device from the built
    network (0 for DSP; the published count where the network cannot be built there)."""

    name: str
    family: str
    params: int | None
    published_params: int | None
    sample_rate: int
    hop_length: int
    mel_preset: str
    uses_waveform: bool
    weights: EntryWeights

    @classmethod
    def from_spec(cls, spec: VocoderSpec) -> ZooEntry:
        from greenvoc.vocoders.inspect import count_params

        w = spec.weights
        return cls(spec.name, spec.family, count_params(spec), spec.published_params,
                   spec.sample_rate, spec.hop_length, spec.mel_preset, spec.uses_waveform,
                   EntryWeights(w.kind, w.package, w.path))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ZooEntry:
        return cls(**{**d, "weights": EntryWeights(**d["weights"])})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self) -> dict[str, Any]:
        """The row of ``greenvoc zoo list --json`` (and of ``zoo info``), with whether the
        weights are found on this machine."""
        return {
            "name": self.name,
            "family": self.family,
            "params": self.params,
            "published_params": self.published_params,
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            "mel_preset": self.mel_preset,
            "weights": self.weights.kind,
            "weights_available": has_usable_weights(self),
            "uses_waveform": self.uses_waveform,
        }


def source_digest(root: Path = _PACKAGE) -> str:
    """sha256 over the relative paths and bytes of the files in :data:`SOURCE_GLOBS`."""
    h = hashlib.sha256()
    for path in sorted(p for g in SOURCE_GLOBS for p in root.glob(g)):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build_index() -> dict[str, Any]:
    """The index document from the registry (imports torch and every family)."""
    from greenvoc.vocoders.registry import list_specs

    return {"source_digest": source_digest(),
            "entries": [ZooEntry.from_spec(s).to_dict() for s in list_specs()]}


def read_index() -> tuple[str, list[ZooEntry]]:
    """The packaged index: the digest of the sources it was generated from, and its entries."""
    path = resources.files("greenvoc.data").joinpath(INDEX_FILE)
    try:
        doc = json.loads(path.read_text())
        return doc["source_digest"], [ZooEntry.from_dict(e) for e in doc["entries"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataFileError(f"{path} is missing or malformed ({e}); regenerate it with "
                            "`python -m greenvoc.vocoders.index`") from e


def zoo_entries() -> tuple[list[ZooEntry], bool]:
    """Every registered vocoder, sorted by family then name, and whether they came from the
    index (True) or, the index being stale, from the registry (False)."""
    digest, entries = read_index()
    if digest == source_digest():
        return entries, True
    from greenvoc.vocoders.registry import list_specs

    return [ZooEntry.from_spec(s) for s in list_specs()], False


def write_index(path: Path | None = None) -> Path:
    """Regenerate the index (by default the packaged ``greenvoc/data/zoo_index.json``)."""
    path = path or _PACKAGE / "data" / INDEX_FILE
    path.write_text(json.dumps(build_index(), indent=1) + "\n")
    return path


if __name__ == "__main__":
    print(f"wrote {write_index()}")
