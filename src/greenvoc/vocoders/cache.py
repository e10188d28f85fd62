"""Where downloaded checkpoints live: ``$GREENVOC_CACHE_DIR`` or ``~/.cache/greenvoc``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenvoc.vocoders.base import VocoderSpec


def cache_root() -> Path:
    if os.environ.get("GREENVOC_CACHE_DIR"):
        return Path(os.environ["GREENVOC_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "greenvoc"


def checkpoint_cache_path(spec: VocoderSpec) -> Path:
    """``<cache>/checkpoints/<name>/<file name of the URL>``."""
    filename = spec.weights.filename or (
        (spec.weights.url or spec.name).rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    )
    return cache_root() / "checkpoints" / spec.name / filename


def cached_checkpoint(spec: VocoderSpec) -> Path | None:
    path = checkpoint_cache_path(spec)
    return path if path.is_file() else None
