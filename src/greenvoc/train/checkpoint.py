"""Training checkpoints: everything a resumed run needs to continue as if never stopped.

One file, ``checkpoint.pt`` in the output folder: generator, discriminators, optimisers,
schedulers, the step, the torch and sampler RNG states, the cumulative energy and carbon, and
the run's database id. Written to a temporary file in the same folder, flushed and renamed,
so a crash mid-write leaves the previous checkpoint intact.

Everything in it is tensors, dicts, lists, tuples and numbers (the optimiser, scheduler and RNG
states included), so it is read with ``torch.load(weights_only=True)`` and no allow-list: a
file naming any other Python global (a pickle crafted to run code) is refused before anything
in it runs, and a file without the fields below is refused with what is missing.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Protocol

import torch

from greenvoc.errors import DataFileError

FILENAME = "checkpoint.pt"
FORMAT = "greenvoc-train-1"

#: The fields of a FORMAT checkpoint and their types (bool is not accepted as an int).
FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str, "run_id": int, "step": int, "identity": dict, "trainer": dict, "rng": dict,
    "energy_j": (int, float), "carbon_g": (int, float),
}
RNG_FIELDS = ("torch", "sampler")

_START_AGAIN = ("--resume continues only a run that `greenvoc train` checkpointed in this "
                "folder: move the file away or choose another --out to start a new run")


class TrainCheckpointError(DataFileError):
    """``--resume`` found a checkpoint it will not use: unreadable, not written by
    ``greenvoc train``, refused as unsafe, or not fitting the run's models. The message names the
    file and what is wrong."""


class _Restorable(Protocol):
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


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


def _read(path: Path) -> object:
    """``torch.load`` with the weights-only unpickler: tensors and plain containers only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on pickle protocols of foreign files
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's own message advises weights_only=False, which would run the file's code
        found = re.search(r"GLOBAL (\S+)", str(e))
        if found:
            raise TrainCheckpointError(
                f"{path}: refused: the file names the Python object {found.group(1)}, and a "
                "greenvoc training checkpoint holds only tensors and plain data. It was not "
                "written by `greenvoc train` and may be crafted to run code; nothing in it was "
                f"run. Do not load it by other means unless you trust its origin; {_START_AGAIN}"
            ) from e
        raise TrainCheckpointError(
            f"{path}: not a torch checkpoint written by `greenvoc train` (the weights-only "
            f"reader stopped: {str(e).split('error:')[-1].split('Check the')[0].strip()}); "
            f"{_START_AGAIN}") from e
    except Exception as e:  # torch raises RuntimeError, EOFError, … for truncated files
        raise TrainCheckpointError(
            f"{path}: cannot read the checkpoint ({type(e).__name__}: {e or 'empty file'}); it "
            f"is truncated or damaged; {_START_AGAIN}") from e


def _problems(state: dict) -> list[str]:
    """What keeps ``state`` from being a FORMAT checkpoint, as phrases; empty if nothing."""
    missing = [k for k in FIELDS if k not in state]
    unexpected = sorted(str(k) for k in state if k not in FIELDS)
    out = []
    if missing:
        out.append("missing " + ", ".join(map(repr, missing)))
    if unexpected:
        out.append("unexpected " + ", ".join(map(repr, unexpected)))
    for key, kind in FIELDS.items():
        v = state.get(key)
        if key in state and (not isinstance(v, kind) or isinstance(v, bool)):
            out.append(f"{key!r} is a {type(v).__name__}")
    if state.get("format", FORMAT) != FORMAT:
        out.append(f"format {state['format']!r}")
    if isinstance(state.get("rng"), dict):
        rng = state["rng"]
        bad = [k for k in RNG_FIELDS
               if not (isinstance(rng.get(k), torch.Tensor) and rng[k].dtype == torch.uint8)]
        if bad or set(rng) != set(RNG_FIELDS):
            out.append(f"'rng' holds {sorted(map(str, rng))}, not uint8 tensors "
                       f"{list(RNG_FIELDS)}")
    return out


def load_checkpoint(out_dir: str | Path) -> dict[str, Any]:
    """The folder's checkpoint, read without running any code in it and checked against
    :data:`FIELDS`; :class:`TrainCheckpointError` naming the file and what is wrong."""
    path = checkpoint_path(out_dir)
    if not path.is_file():
        raise DataFileError(f"{path}: no checkpoint to resume from; run without --resume "
                            "to start training in this folder")
    state = _read(path)
    if not isinstance(state, dict):
        raise TrainCheckpointError(f"{path}: holds a {type(state).__name__}, not a greenvoc "
                                   f"training checkpoint ({FORMAT}); {_START_AGAIN}")
    problems = _problems(state)
    if problems:
        raise TrainCheckpointError(
            f"{path}: not a greenvoc training checkpoint ({FORMAT}, fields "
            f"{', '.join(FIELDS)}): {'; '.join(problems)}; {_START_AGAIN}")
    return state


def restore(out_dir: str | Path, state: dict[str, Any], trainer: _Restorable,
            generator: torch.Generator) -> None:
    """Load ``state['trainer']`` into ``trainer`` and the RNG states; a checkpoint whose models
    or optimisers do not fit (another recipe or ``--config``) → :class:`TrainCheckpointError`
    with torch's list of missing, unexpected or mis-sized entries."""
    path = checkpoint_path(out_dir)
    try:
        trainer.load_state_dict(state["trainer"])
        restore_rng(state["rng"], generator)
    except KeyError as e:
        raise TrainCheckpointError(f"{path}: its 'trainer' state is missing {e}; "
                                   f"{_START_AGAIN}") from e
    except (RuntimeError, ValueError, TypeError) as e:
        raise TrainCheckpointError(f"{path}: its saved state does not fit this run's models "
                                   f"and optimisers ({e}); {_START_AGAIN}") from e


def capture_rng(generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"torch": torch.get_rng_state(), "sampler": generator.get_state()}


def restore_rng(state: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["sampler"])
