"""Facts about a zoo entry without running it: parameters (counted on the meta device)."""

from __future__ import annotations

import torch

from greenvoc.vocoders.base import VocoderSpec


def count_params(spec: VocoderSpec) -> int | None:
    """Parameters of the inference model, counted without allocating weights."""
    try:
        with torch.device("meta"):
            built = spec.build(spec.config)
    except Exception:
        return spec.published_params
    if isinstance(built, torch.nn.Module):
        return sum(p.numel() for p in built.parameters())
    return 0 if spec.family == "dsp" else spec.published_params
