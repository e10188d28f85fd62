"""Checkpoints in each official release's exact file layout, made from small random weights.

The fidelity suite (``test_fidelity.py``) and the script that ran the official code to make its
golden outputs (``tests/vocoders/fidelity/make_golden.py``) share these functions, so both sides see
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
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

GOLDEN = Path(__file__).parent / "fidelity"


def load_golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def random_state(manifest: list[list[Any]], seed: int,
                 scales: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
    """One tensor per manifest row ``[key, shape, dtype]``, each from its own generator
    (``seed + row``): weights N(0, 1/fan_in), biases N(0, 0.1²), weight-norm gains and
    BatchNorm variances U(0.5, 1.5), integer buffers zero; WaveGlow's invertible 1×1 convs
    (``convinv.*``) orthogonal, as its own initialisation (a random square matrix would make
    the flow's inverse ill-conditioned). ``scales`` multiplies the tensors whose key contains
    a given substring (UnivNet's kernel predictor: random gains would give kernels of ±70,
    whose LVC amplifies float32 rounding past the tolerance)."""
    state: dict[str, torch.Tensor] = {}
    for i, (key, shape, dtype) in enumerate(manifest):
        gen = torch.Generator().manual_seed(seed + i)
        dtype = getattr(torch, dtype)
        if not dtype.is_floating_point:
            state[key] = torch.zeros(shape, dtype=dtype)
        elif key.startswith("convinv.") and key.endswith(".weight"):
            q = torch.linalg.qr(torch.randn(shape[:2], generator=gen, dtype=torch.float64))[0]
            state[key] = q.float().reshape(shape)
        elif key.endswith(("weight_g", "running_var", "original0")):
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        elif len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        else:
            state[key] = 0.1 * torch.randn(shape, generator=gen)
        for part, factor in (scales or {}).items():
            if part in key:
                state[key] = state[key] * factor
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


def input_wave(spec: dict[str, Any]) -> torch.Tensor:
    """The waveform both front-ends analyse: harmonics of a gliding f0 plus noise, peak 0.5,
    ``seconds`` long at ``rate`` (float32, as a wav file is read)."""
    gen = torch.Generator().manual_seed(spec["seed"])
    rate, n = spec["rate"], int(spec["seconds"] * spec["rate"])
    t = torch.arange(n, dtype=torch.float64) / rate
    f0 = 110 + 40 * t / t[-1]
    phase = 2 * math.pi * torch.cumsum(f0, 0) / rate
    x = sum(torch.sin(k * phase) / k for k in range(1, 20))
    x = x + 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    return (0.5 * x / x.abs().max()).float()


class _StandInModules:
    """Modules of the given names in ``sys.modules`` while a release is pickled, so that pickle
    records the official class paths (``glow.WaveGlow``); the previous entries come back."""

    def __init__(self, *modules: types.ModuleType) -> None:
        self.modules = modules
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        for m in self.modules:
            self.saved[m.__name__] = sys.modules.get(m.__name__)
            sys.modules[m.__name__] = m

    def __exit__(self, *exc: object) -> None:
        for name, previous in self.saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def write_melgan_neurips(path: Path, state: dict) -> Path:
    """descriptinc/melgan-neurips ``models/linda_johnson.pt``: ``torch.save(netG.state_dict())``
    of the weight-normed ``Generator(80, 32, 3)``, a bare state dict (scripts/train.py)."""
    torch.save(state, path)
    return path


def write_waveglow(path: Path, state: dict, config: dict, iteration: int = 580000) -> Path:
    """NVIDIA/waveglow ``train.py::save_checkpoint``: ``{"model": glow.WaveGlow,
    "iteration", "optimizer", "learning_rate"}`` — the whole model pickled (its attributes,
    ``torch.nn.utils.weight_norm`` hooks) in torch's legacy format, as the 2018 release.
    Built here from stand-in classes named ``glow.*`` with ``glow.py``'s attributes and layers;
    ``config`` is ``waveglow_config`` of ``config.json``."""
    from torch import nn
    from torch.nn.utils import weight_norm

    glow = types.ModuleType("glow")
    for name in ("WaveGlow", "WN", "Invertible1x1Conv"):
        setattr(glow, name, type(name, (nn.Module,), {"__module__": "glow"}))
    wn_cfg = config["WN_config"]
    n_mel, n_group = config["n_mel_channels"], config["n_group"]
    c, layers, k = wn_cfg["n_channels"], wn_cfg["n_layers"], wn_cfg["kernel_size"]
    with _StandInModules(glow), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the old weight_norm and the legacy format, as NVIDIA's
        model = glow.WaveGlow()
        model.upsample = nn.ConvTranspose1d(n_mel, n_mel, 1024, stride=256)
        for key in ("n_flows", "n_group", "n_early_every", "n_early_size"):
            setattr(model, key, config[key])
        model.WN, model.convinv = nn.ModuleList(), nn.ModuleList()
        n_half, remaining = n_group // 2, n_group
        for flow in range(config["n_flows"]):
            if flow % config["n_early_every"] == 0 and flow > 0:
                n_half -= config["n_early_size"] // 2
                remaining -= config["n_early_size"]
            inv = glow.Invertible1x1Conv()
            inv.conv = nn.Conv1d(remaining, remaining, 1, bias=False)
            model.convinv.append(inv)
            wn = glow.WN()
            wn.n_layers, wn.n_channels = layers, c
            wn.in_layers, wn.res_skip_layers = nn.ModuleList(), nn.ModuleList()
            wn.start = weight_norm(nn.Conv1d(n_half, c, 1))
            wn.end = nn.Conv1d(c, 2 * n_half, 1)
            wn.cond_layer = weight_norm(nn.Conv1d(n_mel * n_group, 2 * c * layers, 1))
            for i in range(layers):
                d = 2**i
                wn.in_layers.append(weight_norm(nn.Conv1d(c, 2 * c, k, dilation=d,
                                                          padding=(k * d - d) // 2)))
                out = 2 * c if i < layers - 1 else c
                wn.res_skip_layers.append(weight_norm(nn.Conv1d(c, out, 1)))
            model.WN.append(wn)
        model.n_remaining_channels = remaining
        model.load_state_dict(state)
        torch.save({"model": model, "iteration": iteration, "optimizer": {},
                    "learning_rate": 1e-4}, path, _use_new_zipfile_serialization=False)
    return path


def write_wavenet_r9y9(folder: Path, state: dict, hparams: dict, stem: str) -> Path:
    """r9y9/wavenet_vocoder @ 2092a64 ``train.py::save_checkpoint`` (the ``_ema`` file):
    ``{"state_dict", "optimizer", "global_step", "global_epoch", "global_test_step"}``, and the
    README's "hyper params" json published beside it (``<stem>.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "optimizer": None, "global_step": 320000,
                "global_epoch": 1, "global_test_step": 0}, folder / f"{stem}.pth")
    (folder / f"{stem}.json").write_text(json.dumps(hparams, indent=2))
    return folder / f"{stem}.pth"


def write_univnet(path: Path, state: dict, hp_str: str) -> Path:
    """maum-ai/univnet ``utils/train.py``: ``{"model_g", "model_d", "optim_g", "optim_d",
    "step", "epoch", "hp_str", "githash"}``; ``hp_str`` is the training yaml's text."""
    torch.save({"model_g": state, "model_d": {}, "optim_g": {}, "optim_d": {}, "step": 1,
                "epoch": 1, "hp_str": hp_str, "githash": "0" * 7}, path)
    return path


def write_bigvgan(folder: Path, state: dict, config: dict) -> Path:
    """A Hugging Face nvidia/bigvgan* repository: ``bigvgan_generator.pt`` (``{"generator":
    state}``) and the ``config.json`` that ``BigVGAN.from_pretrained`` reads beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"generator": state}, folder / "bigvgan_generator.pt")
    (folder / "config.json").write_text(json.dumps(config, indent=4))
    return folder / "bigvgan_generator.pt"


def write_vocos(folder: Path, state: dict, config: dict) -> Path:
    """The Hugging Face charactr/vocos-* layout ``Vocos.from_pretrained`` reads:
    ``pytorch_model.bin`` (the flat state dict of ``Vocos``, feature extractor buffers
    included) and ``config.yaml`` (``feature_extractor``/``backbone``/``head`` with
    ``class_path`` and ``init_args``)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "pytorch_model.bin"


def write_istftnet(folder: Path, state: dict, config: dict, steps: int = 1000000) -> Path:
    """rishikksh20/iSTFTNet-pytorch ``train.py``: ``g_<steps>`` (``{"generator": state}``,
    ``utils.save_checkpoint``) in the checkpoint folder, with the ``config.json`` that
    ``build_env`` copies there."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"generator": state}, folder / f"g_{steps:08d}")
    (folder / "config.json").write_text(json.dumps(config, indent=4))
    return folder / f"g_{steps:08d}"


def vocos_buffers(config: dict) -> dict[str, torch.Tensor]:
    """The buffers of a Vocos state dict, fixed by its config: the feature extractor's
    (torchaudio ``MelSpectrogram(power=1)``: ``spectrogram.window``, ``mel_scale.fb`` of shape
    (freq, mels), an HTK filterbank without norm) and the iSTFT head's window."""
    import librosa

    args = config["feature_extractor"]["init_args"]
    fb = librosa.filters.mel(sr=args["sample_rate"], n_fft=args["n_fft"], n_mels=args["n_mels"],
                             htk=True, norm=None)
    return {"feature_extractor.mel_spec.spectrogram.window": torch.hann_window(args["n_fft"]),
            "feature_extractor.mel_spec.mel_scale.fb": torch.tensor(fb.T).float(),
            "head.istft.window": torch.hann_window(config["head"]["init_args"]["n_fft"])}
