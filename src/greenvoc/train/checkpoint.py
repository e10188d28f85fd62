"""Training checkpoints: everything a resumed run needs to continue as if never stopped.

One file, ``checkpoint.pt`` in the output folder: generator, discriminators, optimisers,
schedulers, the step, the torch and sampler RNG states, the cumulative energy and carbon, and
the run's database id. Written to a temporary file in the same folder, flushed and renamed,
so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from greenvoc.errors import DataFileError

FILENAME = "checkpoint.pt"
FORMAT = "greenvoc-train-1"


def checkpoint_path(out_dir: str | Path) -> Path:
    return Path(out_dir) / FILENAME


def save_checkpoint(out_dir: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write ``state`` (tensors and plain data) as the folder's checkpoint."""
    path = checkpoint_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(out_dir: str | Path) -> dict[str, Any]:
    path = checkpoint_path(out_dir)
    if not path.is_file():
        raise DataFileError(f"{path}: no checkpoint to resume from; run without --resume "
                            "to start training in this folder")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file: say which and what to do
        raise DataFileError(f"{path}: cannot read the checkpoint ({e}); delete it to start "
                            "again") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataFileError(f"{path}: not a greenvoc training checkpoint ({FORMAT})")
    return state


def capture_rng(generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"torch": torch.get_rng_state(), "sampler": generator.get_state()}


def restore_rng(state: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["sampler"])
