"""Seeded noise drawn per batch item, so a batch equals its items run alone."""

from __future__ import annotations

import torch


def item_generators(batch: int, seed: int) -> list[torch.Generator]:
    """One CPU generator per batch item, all seeded with ``seed``: item b of a batch draws the
    same noise as the same mel run alone."""
    return [torch.Generator().manual_seed(seed) for _ in range(batch)]


def item_randn(generators: list[torch.Generator], shape: tuple[int, ...],
               like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise (B, *shape), item b drawn from ``generators[b]``, on ``like``'s
    device and dtype."""
    noise = torch.stack([torch.randn(shape, generator=g) for g in generators])
    return noise.to(like.device, like.dtype)


def item_rand(generators: list[torch.Generator], shape: tuple[int, ...],
              like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) noise (B, *shape), per item as :func:`item_randn`."""
    noise = torch.stack([torch.rand(shape, generator=g) for g in generators])
    return noise.to(like.device, like.dtype)
