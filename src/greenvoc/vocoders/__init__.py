"""The vocoder zoo: a registry of specs, one module per family, checkpoint loaders."""

from greenvoc.vocoders.base import (
    FAMILIES,
    CheckpointError,
    Vocoder,
    VocoderError,
    VocoderSpec,
    WeightsSource,
)
from greenvoc.vocoders.registry import get_spec, list_specs, load_vocoder, register

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
