"""The vocoder zoo: a registry of specs, one module per family, checkpoint loaders.

The names below are imported on first use: importing a submodule (the torch-free
:mod:`~greenvoc.vocoders.index` that ``greenvoc zoo list`` reads) must not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenvoc.vocoders.base import (
        FAMILIES,
        CheckpointError,
        Vocoder,
        VocoderError,
        VocoderSpec,
        WeightsSource,
    )
    from greenvoc.vocoders.registry import get_spec, list_specs, load_vocoder, register

_HOME = {
    "FAMILIES": "base",
    "CheckpointError": "base",
    "Vocoder": "base",
    "VocoderError": "base",
    "VocoderSpec": "base",
    "WeightsSource": "base",
    "get_spec": "registry",
    "list_specs": "registry",
    "load_vocoder": "registry",
    "register": "registry",
}

__all__ = [
    "FAMILIES",
    "CheckpointError",
    "Vocoder",
    "VocoderError",
    "VocoderSpec",
    "WeightsSource",
    "get_spec",
    "list_specs",
    "load_vocoder",
    "register",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"greenvoc.vocoders.{_HOME[name]}"), name)
    raise AttributeError(f"module 'greenvoc.vocoders' has no attribute {name!r}")
