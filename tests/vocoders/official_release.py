"""Checkpoints in each official release's exact file layout, made from small random weights.

The fidelity suite (``test_fidelity.py``) and the script that ran the official code to make its
golden outputs (``tests/vocoders/fidelity/README.md``) share these functions, so both sides see
the same bytes: the weights are drawn from a seed for each (key, shape, dtype) of a manifest that
was read from the official model's own ``state_dict()`` (weight-norm pairs, ``module.``-free
keys, buffers), then written the way each release stores them.
"""

from __future__ import annotations

import io
import json
import math
import sys
import tarfile
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

GOLDEN = Path(__file__).parent / "fidelity"


def load_golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def random_state(manifest: list[list[Any]], seed: int) -> dict[str, torch.Tensor]:
    """One tensor per manifest row ``[key, shape, dtype]``, each from its own generator
    (``seed + row``): weights N(0, 1/fan_in), biases N(0, 0.1²), weight-norm gains and
    BatchNorm variances U(0.5, 1.5), integer buffers zero."""
    state: dict[str, torch.Tensor] = {}
    for i, (key, shape, dtype) in enumerate(manifest):
        gen = torch.Generator().manual_seed(seed + i)
        dtype = getattr(torch, dtype)
        if not dtype.is_floating_point:
            state[key] = torch.zeros(shape, dtype=dtype)
        elif key.endswith(("weight_g", "running_var", "original0")):
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        elif len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        else:
            state[key] = 0.1 * torch.randn(shape, generator=gen)
    return state


def input_mel(spec: dict[str, Any]) -> torch.Tensor:
    """The mel fed to both implementations: U(low, high) of shape (n_mels, frames)."""
    gen = torch.Generator().manual_seed(spec["seed"])
    low, high = spec["range"]
    return low + (high - low) * torch.rand(spec["n_mels"], spec["frames"], generator=gen)


# -- release layouts ------------------------------------------------------------------------

def write_pwg_release(folder: Path, state: dict, config: dict, stats: dict, steps: int) -> Path:
    """kan-bayashi/ParallelWaveGAN: ``<tag>.tar.gz`` of ``<tag>/checkpoint-<steps>steps.pkl``
    (``{"model": {"generator", "discriminator"}, "optimizer", "scheduler", "steps",
    "epochs"}``), ``<tag>/config.yml`` and ``<tag>/stats.h5`` (``mean``, ``scale``)."""
    import h5py

    tag = folder.name
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": {"generator": state, "discriminator": {}}, "optimizer": {},
                "scheduler": {}, "steps": steps, "epochs": 1},
               folder / f"checkpoint-{steps}steps.pkl")
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    with h5py.File(folder / "stats.h5", "w") as f:
        f["mean"] = np.asarray(stats["mean"], dtype=np.float64)
        f["scale"] = np.asarray(stats["scale"], dtype=np.float64)
    archive = folder.parent / f"{tag}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=tag)
    return archive


def write_diffwave_weights(path: Path, state: dict, params: dict, step: int) -> Path:
    """lmnt-com/diffwave ``weights.pt``: ``{"step", "model", "optimizer", "params", "scaler"}``
    with ``params`` a pickled ``diffwave.params.AttrDict`` (a stand-in class of that name is
    registered while saving; greenvoc must read it without the package)."""
    params_mod = types.ModuleType("diffwave.params")

    class AttrDict(dict):
        pass

    AttrDict.__module__, AttrDict.__qualname__ = "diffwave.params", "AttrDict"
    params_mod.AttrDict = AttrDict
    saved = {k: sys.modules.get(k) for k in ("diffwave", "diffwave.params")}
    sys.modules.setdefault("diffwave", types.ModuleType("diffwave"))
    sys.modules["diffwave.params"] = params_mod
    try:
        torch.save({"step": step, "model": state, "optimizer": {}, "params": AttrDict(params),
                    "scaler": {}}, path)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return path


def write_wavegrad_release(folder: Path, state: dict, config: dict) -> Path:
    """ivanvovk/WaveGrad: the README's checkpoint is "a dict with a single key 'model'"; the
    training config.json beside it (present for a release of another architecture)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state}, folder / "wavegrad.pt")
    if config:
        (folder / "config.json").write_text(json.dumps(config))
    return folder / "wavegrad.pt"


def write_wavernn_zip(path: Path, state: dict) -> Path:
    """fatchord/WaveRNN ``pretrained/ljspeech.wavernn.mol.800k.zip``: ``latest_weights.pyt``
    (``torch.save(model.state_dict())``) at the zip's root, as quick_start.py unpacks it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("latest_weights.pyt", buffer.getvalue())
    return path
