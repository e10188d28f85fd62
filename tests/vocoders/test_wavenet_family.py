"""The WaveNet-style models: Parallel WaveGAN, DiffWave, WaveGlow, the MoL WaveNet vocoder.

Parameter counts are checked on the registered (official-size) configs. Behaviour (lengths,
finiteness, batch consistency, the front-end check) runs on narrow variants of the same code so
that the file stays fast on a 2-core CPU: these models cost seconds per second of audio
(DiffWave: one network pass per step; WaveNet: one per sample). The loaders read checkpoints
that the tests write in each official layout, weight-norm pairs included.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
import warnings

import pytest
import torch
from torch import nn

from greenvoc.vocoders import (
    CheckpointError,
    VocoderError,
    VocoderSpec,
    get_spec,
    load_vocoder,
    registry,
)
from greenvoc.vocoders.blocks.wavenet import GatedResidualLayer, WaveNetStack
from greenvoc.vocoders.families.wavenet import sample_mixture
from greenvoc.vocoders.torch_vocoder import TorchVocoder

NAMES = {"pwg": "gan", "diffwave": "diffusion", "waveglow": "flow",
         "wavenet-mol": "autoregressive"}

SMALL = {
    "pwg": {"layers": 6, "stacks": 2},
    "diffwave": {"residual_layers": 4, "residual_channels": 16, "dilation_cycle_length": 2,
                 "inference_schedule": (1e-4, 0.05, 0.5)},
    "waveglow": {"wn_layers": 2, "wn_channels": 16},
    "wavenet-mol": {"layers": 4, "stacks": 2, "residual_channels": 16, "gate_channels": 16,
                    "skip_out_channels": 16},
}


@pytest.fixture(autouse=True)
def one_thread():
    """Intra-op threads on these small tensors cost more in synchronisation than they save, and
    on a loaded 2-core machine far more (20× measured): run this file on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_spec(name: str) -> VocoderSpec:
    spec = get_spec(name)
    return dataclasses.replace(spec, config=dataclasses.replace(spec.config, **SMALL[name]))


def speechlike_mel(spec: VocoderSpec, *shape: int) -> torch.Tensor:
    """Random values in the range of the entry's front-end: [0, 1] for the normalised dB mels
    of DiffWave and WaveNet, log-mel magnitudes (−6 … −2) for the others."""
    torch.manual_seed(7)
    if spec.mel_config.value_range is not None:
        return torch.rand(*shape) * 0.6 + 0.2
    return torch.rand(*shape) * 4 - 6


def small_vocoder(name: str) -> TorchVocoder:
    spec = small_spec(name)
    torch.manual_seed(0)
    return TorchVocoder(spec, spec.build(spec.config), has_weights=False)


@pytest.mark.parametrize("name", NAMES)
def test_family_and_parameter_count_match_the_published_ones(name):
    spec = get_spec(name)
    assert spec.family == NAMES[name]
    params = sum(p.numel() for p in spec.build(spec.config).parameters())
    assert abs(params - spec.published_params) <= 0.02 * spec.published_params
    assert spec.paper and spec.description


@pytest.mark.parametrize("name", NAMES)
def test_synthesis_shape_batch_consistency_and_bad_mel(name):
    voc = small_vocoder(name)
    frames = 2 if name == "wavenet-mol" else 8
    mel = speechlike_mel(voc.spec, 2, 80, frames)
    both = voc.synthesize(mel)
    assert both.shape == (2, frames * voc.hop_length)
    assert torch.isfinite(both).all() and both.abs().max() > 0
    one = voc.synthesize(mel[1])
    torch.testing.assert_close(both[1], one, atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match=re.escape(repr(voc.spec.mel_preset))):
        voc.synthesize(torch.randn(1, 100, frames))
    if voc.mel_config.value_range is not None:  # a log-mel given to a [0, 1] front-end
        with pytest.raises(VocoderError, match=r"expects a mel in \[0, 1\] from the "
                           + re.escape(repr(voc.spec.mel_preset))):
            voc.synthesize(torch.rand(1, 80, frames) * 4 - 6)


def test_incremental_wavenet_equals_the_whole_sequence_pass():
    """The cached-queue sampler reproduces the teacher-forced convolution pass sample by sample."""
    voc = small_vocoder("wavenet-mol")
    model, cfg = voc.module, voc.spec.config
    mel = torch.rand(1, 80, 2)
    uniforms = torch.rand(1, 2 * 256, cfg.mixtures + 1)
    with torch.inference_mode():
        audio = model.generate(mel, uniforms)
        previous = torch.cat((torch.zeros(1, 1), audio[:, :-1]), 1).unsqueeze(1)
        params = model.teacher_forced(previous, mel).transpose(1, 2)
        again = sample_mixture(params, uniforms, cfg.log_scale_min)
    torch.testing.assert_close(again, audio, atol=1e-4, rtol=0)


def test_wavenet_refuses_inputs_beyond_max_samples():
    voc = load_vocoder("wavenet-mol")
    frames = voc.spec.config.max_samples // voc.hop_length + 1
    with pytest.raises(VocoderError, match="max_samples"):
        voc.synthesize(torch.zeros(80, frames))


def test_causal_layer_sees_no_future_and_centred_layer_keeps_length():
    causal = GatedResidualLayer(4, 8, 4, 0, kernel_size=3, dilation=2, causal=True)
    x = torch.randn(1, 4, 20)
    y, _ = causal(x, None)
    x2 = x.clone()
    x2[..., 10:] += 1.0
    y2, _ = causal(x2, None)
    torch.testing.assert_close(y[..., :10], y2[..., :10])
    stack = WaveNetStack(4, 2, 4, 8, 4, 3, causal=False)
    assert stack(x, torch.randn(1, 3, 20)).shape == (1, 4, 20)


# -- loaders: checkpoints written in the official layouts -----------------------------------
def weight_norm_pair(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(g, v) with g·v/‖v‖ = w (norm over all axes but 0), v a rescaled copy of w."""
    scale = torch.rand(w.shape[0], *([1] * (w.dim() - 1))) + 0.5
    v = w * scale
    g = w.flatten(1).norm(dim=1).reshape(scale.shape)
    return g, v


def put(official: dict, key: str, value: torch.Tensor, weight_norm: bool) -> None:
    if weight_norm and key.endswith(".weight"):
        official[key[:-7] + ".weight_g"], official[key[:-7] + ".weight_v"] = weight_norm_pair(value)
    else:
        official[key] = value


def to_pwg(state: dict) -> dict:
    out: dict = {}
    for key, value in state.items():
        m = re.match(r"stack\.layers\.(\d+)\.(conv|aux|out|skip)\.(.*)", key)
        if m:
            kind = {"conv": "conv", "aux": "conv1x1_aux", "out": "conv1x1_out",
                    "skip": "conv1x1_skip"}[m.group(2)]
            key = f"conv_layers.{m.group(1)}.{kind}.{m.group(3)}"
        put(out, key, value, weight_norm=True)
    return {"model": {"generator": out, "discriminator": {}}, "steps": 400000}


def to_diffwave(state: dict, channels: int) -> dict:
    out: dict = {}
    for key, value in state.items():
        m = re.match(r"stack\.layers\.(\d+)\.(conv|aux|out|skip)\.(.*)", key)
        s = re.match(r"step_projections\.(\d+)\.(.*)", key)
        if s:
            out[f"residual_layers.{s.group(1)}.diffusion_projection.{s.group(2)}"] = value
        elif m and m.group(2) in ("out", "skip"):
            fused = f"residual_layers.{m.group(1)}.output_projection.{m.group(3)}"
            part = out.setdefault(fused, torch.zeros((2 * channels, *value.shape[1:])))
            if m.group(2) == "out":
                part[:channels] = value
            else:
                part[channels:] = value
        elif m:
            kind = {"conv": "dilated_conv", "aux": "conditioner_projection"}[m.group(2)]
            out[f"residual_layers.{m.group(1)}.{kind}.{m.group(3)}"] = value
        else:
            out[key] = value
    return {"step": 1000578, "model": out}


def to_waveglow(state: dict, channels: int, layers: int) -> dict:
    out: dict = {}
    cond: dict = {}
    for key, value in state.items():
        m = re.match(r"WN\.(\d+)\.stack\.layers\.(\d+)\.(conv|aux|out|skip)\.(.*)", key)
        if not m:
            put(out, key, value, weight_norm=re.match(r"WN\.\d+\.start\.", key) is not None)
            continue
        flow, layer, kind, param = m.groups()
        if kind == "conv":
            put(out, f"WN.{flow}.in_layers.{layer}.{param}", value, weight_norm=True)
        elif kind == "aux":
            cond.setdefault((flow, param), {})[int(layer)] = value
        elif kind == "skip" and int(layer) == layers - 1:
            put(out, f"WN.{flow}.res_skip_layers.{layer}.{param}", value, weight_norm=True)
        elif kind == "out":
            skip = state[f"WN.{flow}.stack.layers.{layer}.skip.{param}"]
            put(out, f"WN.{flow}.res_skip_layers.{layer}.{param}", torch.cat((value, skip)),
                weight_norm=True)
    for (flow, param), parts in cond.items():
        fused = torch.cat([parts[i] for i in range(layers)])
        put(out, f"WN.{flow}.cond_layer.{param}", fused, weight_norm=True)
    assert channels
    return {"model": out, "iteration": 1}


def to_wavenet(state: dict) -> dict:
    out: dict = {}
    for key, value in state.items():
        m = re.match(r"stack\.layers\.(\d+)\.(conv|aux|out|skip)\.(.*)", key)
        if m:
            kind = {"conv": "conv", "aux": "conv1x1c", "out": "conv1x1_out",
                    "skip": "conv1x1_skip"}[m.group(2)]
            key = f"conv_layers.{m.group(1)}.{kind}.{m.group(3)}"
        put(out, key, value, weight_norm=True)
    return {"state_dict": out, "global_step": 320000, "global_epoch": 1}


def fake_module(monkeypatch, module_name: str, **classes: type) -> types.ModuleType:
    """A stand-in for an official package at save time, so that pickle records its names."""
    module = types.ModuleType(module_name)
    for name, base in classes.items():
        setattr(module, name, type(name, (base,), {"__module__": module_name}))
    monkeypatch.setitem(sys.modules, module_name, module)
    return module


def pickled_waveglow(official: dict, cfg, monkeypatch) -> torch.nn.Module:
    """A whole model as NVIDIA's glow.py pickles it (classes glow.WaveGlow, glow.WN,
    glow.Invertible1x1Conv; weight norm as hooks), holding the ``official`` weights."""
    glow = fake_module(monkeypatch, "glow", WaveGlow=nn.Module, WN=nn.Module,
                       Invertible1x1Conv=nn.Module)
    def wn_(conv: nn.Conv1d) -> nn.Conv1d:
        with warnings.catch_warnings():  # the old weight norm, as the official code uses it
            warnings.simplefilter("ignore", FutureWarning)
            return nn.utils.weight_norm(conv)

    c, n = cfg.wn_channels, cfg.wn_layers
    model = glow.WaveGlow()
    model.upsample = nn.ConvTranspose1d(80, 80, 1024, stride=256)
    model.WN, model.convinv = nn.ModuleList(), nn.ModuleList()
    for ch in cfg.flow_channels():
        wn = glow.WN()
        wn.in_layers = nn.ModuleList(wn_(nn.Conv1d(c, 2 * c, 3, dilation=2**i, padding=2**i))
                                     for i in range(n))
        wn.res_skip_layers = nn.ModuleList(wn_(nn.Conv1d(c, 2 * c if i < n - 1 else c, 1))
                                           for i in range(n))
        wn.start = wn_(nn.Conv1d(ch // 2, c, 1))
        wn.end = nn.Conv1d(c, ch, 1)
        wn.cond_layer = wn_(nn.Conv1d(80 * cfg.n_group, 2 * c * n, 1))
        inv = glow.Invertible1x1Conv()
        inv.conv = nn.Conv1d(ch, ch, 1, bias=False)
        model.WN.append(wn)
        model.convinv.append(inv)
    model.load_state_dict(official)
    return model


def write_official_checkpoint(name: str, module: torch.nn.Module, path, monkeypatch,
                              legacy: bool = False) -> None:
    """``module``'s weights saved as the official code saves them."""
    state = {k: v.clone() for k, v in module.state_dict().items()}
    cfg = module.config
    if name == "pwg":
        data = to_pwg(state)
    elif name == "diffwave":
        data = to_diffwave(state, cfg.residual_channels)
        fake_module(monkeypatch, "diffwave")
        params = fake_module(monkeypatch, "diffwave.params", AttrDict=dict)
        data["params"] = params.AttrDict(residual_channels=cfg.residual_channels,
                                         noise_schedule=list(cfg.training_schedule))
    elif name == "waveglow":
        official = to_waveglow(state, cfg.wn_channels, cfg.wn_layers)["model"]
        data = {"model": pickled_waveglow(official, cfg, monkeypatch), "iteration": 1}
    else:
        data = to_wavenet(state)
    with warnings.catch_warnings():  # legacy format: "couldn't retrieve source code"
        warnings.simplefilter("ignore")
        torch.save(data, path, _use_new_zipfile_serialization=not legacy)
    for package in ("glow", "diffwave", "diffwave.params"):  # the loaders must not need them
        monkeypatch.delitem(sys.modules, package, raising=False)


@pytest.mark.parametrize("name", NAMES)
def test_loader_reads_the_official_layout(name, tmp_path, monkeypatch):
    # the narrow variant stands in for the registered one: same code and key layout, a
    # checkpoint of kilobytes instead of hundreds of megabytes
    spec = small_spec(name)
    monkeypatch.setitem(registry._REGISTRY, name, spec)
    torch.manual_seed(123)
    source = spec.build(spec.config).eval()
    path = tmp_path / "official.pt"
    write_official_checkpoint(name, source, path, monkeypatch)
    check_loaded(name, source, path)


def test_waveglow_loader_reads_the_legacy_pickle_format(tmp_path, monkeypatch):
    """waveglow_256channels_universal_v5.pt predates torch's zip format."""
    spec = small_spec("waveglow")
    monkeypatch.setitem(registry._REGISTRY, "waveglow", spec)
    source = spec.build(spec.config).eval()
    path = tmp_path / "legacy.pt"
    write_official_checkpoint("waveglow", source, path, monkeypatch, legacy=True)
    check_loaded("waveglow", source, path)


def test_waveglow_loader_reads_the_older_unfused_layout(tmp_path, monkeypatch):
    """The first released models: per-layer cond_layers, res_layers and skip_layers."""
    spec = small_spec("waveglow")
    monkeypatch.setitem(registry._REGISTRY, "waveglow", spec)
    source = spec.build(spec.config).eval()
    old: dict = {}
    for key, value in source.state_dict().items():
        m = re.match(r"WN\.(\d+)\.stack\.layers\.(\d+)\.(conv|aux|out|skip)\.(.*)", key)
        if m:
            kind = {"conv": "in_layers", "aux": "cond_layers", "out": "res_layers",
                    "skip": "skip_layers"}[m.group(3)]
            key = f"WN.{m.group(1)}.{kind}.{m.group(2)}.{m.group(4)}"
        put(old, key, value, weight_norm=".end." not in key and "convinv" not in key
            and "upsample" not in key)
    path = tmp_path / "old.pt"
    torch.save(old, path)
    check_loaded("waveglow", source, path)


def check_loaded(name: str, source: torch.nn.Module, path) -> None:
    voc = load_vocoder(name, weights=path)
    assert voc.has_weights
    loaded = voc.module.state_dict()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(loaded[key], value, atol=1e-5, rtol=1e-5)
    mel = speechlike_mel(voc.spec, 1, 80, 1)
    with torch.inference_mode():
        torch.testing.assert_close(voc.synthesize(mel[0]), source(mel).reshape(-1),
                                   atol=1e-4, rtol=1e-4)


def test_pickled_checkpoints_run_nothing_outside_the_allow_list(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "waveglow", small_spec("waveglow"))
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "hook": print}, path)
    with pytest.raises(CheckpointError, match=r"holds __builtin__\.print, which greenvoc"):
        load_vocoder("waveglow", weights=path)


def test_loader_error_names_the_keys(tmp_path):
    path = tmp_path / "wrong.pt"
    torch.save({"model": {"generator": {"first_conv.weight": torch.zeros(64, 1, 1)}}}, path)
    with pytest.raises(CheckpointError, match="missing keys"):
        load_vocoder("pwg", weights=path)
