"""The zoo's registry: every family module under ``greenvoc.vocoders.families`` registers its
specs at import; :func:`load_vocoder` builds one, with weights where they exist."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import pkgutil
from pathlib import Path

import torch

from greenvoc.vocoders.base import Vocoder, VocoderSpec, unknown_name
from greenvoc.vocoders.torch_vocoder import TorchVocoder

# torch-free (for `greenvoc zoo list`), and found here too, where callers have always looked
from greenvoc.vocoders.weights import bundled_path as bundled_path
from greenvoc.vocoders.weights import has_usable_weights as has_usable_weights
from greenvoc.vocoders.weights import weights_hint, weights_path

log = logging.getLogger(__name__)

_REGISTRY: dict[str, VocoderSpec] = {}


def register(spec: VocoderSpec) -> VocoderSpec:
    """Add a spec; a second spec of the same name is a programming error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"vocoder {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


@functools.cache
def _discover() -> None:
    from greenvoc.vocoders import families

    for info in pkgutil.iter_modules(families.__path__):
        importlib.import_module(f"{families.__name__}.{info.name}")


def list_specs() -> list[VocoderSpec]:
    _discover()
    return sorted(_REGISTRY.values(), key=lambda s: (s.family, s.name))


def get_spec(name: str) -> VocoderSpec:
    _discover()
    if name not in _REGISTRY:
        raise unknown_name("vocoder", name, sorted(_REGISTRY))
    return _REGISTRY[name]


def configured_spec(spec: VocoderSpec, path: Path | None) -> VocoderSpec:
    """``spec`` with the config that the release at ``path`` declares, where the entry reads
    one (``spec.configure``); a release that does not fit the entry raises CheckpointError."""
    if path is None or spec.configure is None:
        return spec
    return dataclasses.replace(spec, config=spec.configure(spec, Path(path)))


def build_model(spec: VocoderSpec, path: Path | None, seed: int = 0) -> object:
    """``spec.build(spec.config)`` from seeded random weights, then filled from ``path``
    (call :func:`configured_spec` first so that the architecture follows the release)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.build(spec.config)
    if path is not None and spec.load is not None:
        spec.load(model, Path(path))
    return model


def load_vocoder(
    name: str,
    weights: str | Path | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> Vocoder:
    """Build ``name`` and load its weights (``weights`` overrides where they come from).

    Without weights the model keeps a seeded random initialisation and ``has_weights`` is
    False: its cost (time, energy, MACs) is real, its quality is not reported.
    """
    spec = get_spec(name)
    path = weights_path(spec, weights)
    if spec.load is not None:
        spec = configured_spec(spec, path)
    model = build_model(spec, path if spec.load is not None else None, seed)
    has_weights = False
    if path is not None and spec.load is not None:
        has_weights = True
    elif path is None and spec.weights.kind in ("bundled", "url"):
        log.warning("%s: no weights found (%s); cost only, no quality", name,
                    weights_hint(spec))
    elif spec.load is None and spec.family == "dsp":
        has_weights = True  # nothing to learn: a DSP method is complete as built
    wrap = spec.wrap or (lambda s, m, h: TorchVocoder(s, m, h))
    return wrap(spec, model, has_weights).to(device)
