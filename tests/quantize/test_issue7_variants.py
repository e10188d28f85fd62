"""int8-static (PT2E), int8-mixed (sensitivity), int4-weight-only, and bad input, on a tiny
HiFi-GAN (16 channels, one resblock kernel: 12 convolutions) with random weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from greenvoc.errors import UsageError
from greenvoc.quantize import get_variant
from greenvoc.quantize.base import NotApplicable
from greenvoc.quantize.int4 import pack_int4, unpack_int4
from greenvoc.quantize.mixed import MixedConfig, _int8_mixed
from greenvoc.quantize.pt2e import _int8_static
from greenvoc.quantize.report import snr_db
from greenvoc.quantize.sensitivity import (
    LayerSensitivity,
    fake_uint8,
    fragile_layers,
    layer_sensitivity,
    onnx_node_name,
)
from greenvoc.vocoders.base import VocoderError
from greenvoc.vocoders.families.hifigan import HifiganConfig, HifiganGenerator
from greenvoc.vocoders.registry import get_spec
from greenvoc.vocoders.torch_vocoder import TorchVocoder

TINY = HifiganConfig(upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                     upsample_initial_channel=16, resblock="2", resblock_kernel_sizes=(3,),
                     resblock_dilation_sizes=((1, 3),))


def _mel(frames: int, seed: int, n_mels: int = 80) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_mels, frames, generator=g) * 2.0 - 5.0


@pytest.fixture(scope="module")
def tiny() -> TorchVocoder:
    torch.manual_seed(0)
    return TorchVocoder(get_spec("hifigan-v2"), HifiganGenerator(TINY), False)


@pytest.fixture(scope="module")
def calibration() -> list[torch.Tensor]:
    return [_mel(40, 10), _mel(32, 11), _mel(24, 12)]


def test_int4_round_trip_is_within_half_a_step_per_group():
    w = torch.randn(6, 40, 3) * torch.arange(1, 7).reshape(6, 1, 1)
    entry = pack_int4(w, group=32)
    assert entry["packed"].dtype == torch.uint8
    assert entry["packed"].numel() == 6 * 4 * 32 // 2  # 120 values padded to 4 groups of 32
    back = unpack_int4(entry)
    assert back.shape == w.shape
    step = entry["scale"].float().amax()
    assert (back - w).abs().max() <= step / 2 + 1e-3


def test_int4_conv_transpose_groups_along_its_input_channels():
    w = torch.randn(40, 6, 4)  # ConvTranspose1d: (in, out, k)
    entry = pack_int4(w, transposed=True, group=32)
    assert entry["scale"].shape == (6, 5)  # 6 output channels, 160 → 5 groups of 32
    err = (unpack_int4(entry, transposed=True) - w).abs().amax()
    assert err <= entry["scale"].float().amax() / 2 + 1e-3


def test_onnx_node_names_follow_the_exporter_scopes():
    assert onnx_node_name("mrfs.0.blocks.1.convs1.2", nn.Conv1d(1, 1, 1)) == \
        "/mrfs.0/blocks.1/convs1.2/Conv"
    assert onnx_node_name("ups.0", nn.ConvTranspose1d(1, 1, 2)) == "/ups.0/ConvTranspose"


def test_fake_uint8_has_256_levels_and_keeps_zero():
    x = torch.linspace(-1.0, 3.0, 10_000)
    q = fake_uint8(x, -1.0, 3.0)
    assert len(torch.unique(q)) <= 256
    assert fake_uint8(torch.zeros(1), -1.0, 3.0).item() == 0.0
    assert (q - x).abs().max() <= 4.0 / 255 / 2 + 1e-6


def test_fragile_layers_keeps_the_fewest_that_reach_the_target():
    table = [LayerSensitivity(f"l{i}", "Conv1d", snr, f"/l{i}/Conv")
             for i, snr in enumerate([10.0, 20.0, 40.0, 40.0])]
    # everything: ≈ 9.6 dB; without l0: ≈ 19.6; without l0, l1: 37 dB
    assert [r.layer for r in fragile_layers(table, 30.0, 5)] == ["l0", "l1"]
    assert [r.layer for r in fragile_layers(table, 15.0, 5)] == ["l0"]
    assert fragile_layers(table, 5.0, 5) == []
    assert len(fragile_layers(table, 60.0, 3)) == 3


def test_sensitivity_ranks_every_conv(tiny, calibration):
    table = layer_sensitivity(tiny.module, calibration[:2], calibration[2])
    convs = [n for n, m in tiny.module.named_modules()
             if isinstance(m, nn.Conv1d | nn.ConvTranspose1d)]
    assert sorted(r.layer for r in table) == sorted(convs)
    assert [r.snr_db for r in table] == sorted(r.snr_db for r in table)
    assert all(0 < r.snr_db < 100 for r in table)  # int8 changes each layer, a little


def test_int8_static_quantizes_convs_and_conv_transposes(tiny, calibration, tmp_path):
    result = get_variant("int8-static").apply(tiny, calibration, tmp_path)
    ops = result.detail["low_precision_ops"]
    assert ops["conv1d"] == {"int8": 8, "float": 0}
    assert ops["conv_transpose1d"] == {"int8": 3, "float": 0}  # per-tensor weights
    assert result.detail["param_bytes"] < sum(
        p.numel() * 4 for p in tiny.module.parameters()) / 3
    mel = _mel(12, 1)
    # Measured 29.6 dB here (V2, 128 channels: 42 dB): 16 channels average less rounding out.
    assert snr_db(result.vocoder.synthesize(mel), tiny.synthesize(mel)) > 22


def test_int8_static_can_keep_layers_float(tiny, calibration, tmp_path):
    skip = frozenset({"conv_pre", "ups.0"})
    result = _int8_static(tiny, calibration, tmp_path, skip=skip)
    assert result.detail["kept_float"] == ["conv_pre", "ups.0"]
    assert result.detail["low_precision_ops"]["conv1d"] == {"int8": 7, "float": 1}
    assert result.detail["low_precision_ops"]["conv_transpose1d"] == {"int8": 2, "float": 1}


def test_int8_mixed_keeps_the_fragile_layers_float(tiny, calibration, tmp_path):
    config = MixedConfig(target_snr_db=80.0, max_float_layers=2)  # forces 2 layers out
    result = _int8_mixed(config, tiny, calibration, tmp_path)
    sens = result.detail["sensitivity"]
    assert len(sens["kept_float_layers"]) == 2 and sens["held_out"]
    worst = [r["onnx_node"] for r in sens["layers"][:2]]
    ends = {"/conv_pre/Conv", "/conv_post/Conv"}  # always float in the recipe
    assert sorted({*worst, *ends}) == result.detail["kept_float"]
    n_conv = sum(isinstance(m, nn.Conv1d) for m in tiny.module.modules())
    kept_convs = sum(n.endswith("/Conv") for n in {*worst, *ends})
    assert result.detail["runtime_ops"].get("QLinearConv", 0) == n_conv - kept_convs
    # every float conv keeps float compute but int8 storage (ConvTranspose, the fragile ones)
    assert set(worst) <= set(result.detail["float_compute_int8_weights"])


def test_empty_calibration_is_a_usage_error(tiny, tmp_path):
    with pytest.raises(UsageError, match="calibration"):
        get_variant("int8-static").apply(tiny, [], tmp_path)


def test_calibration_with_the_wrong_n_mels_is_a_usage_error(tiny, tmp_path):
    with pytest.raises(UsageError, match="n_mels=80"):
        get_variant("int8-mixed").apply(tiny, [_mel(20, 1, n_mels=100)], tmp_path)


class _NoConv(nn.Module):
    def __init__(self, hop: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))
        self.hop = hop

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.tanh(mel.mean(dim=1, keepdim=True) * self.gain).repeat_interleave(
            self.hop, dim=-1)


def test_int8_static_on_a_model_without_convs_is_not_applicable(tiny, tmp_path):
    voc = TorchVocoder(tiny.spec, _NoConv(tiny.hop_length), False)
    with pytest.raises(NotApplicable, match="no Conv1d"):
        get_variant("int8-static").apply(voc, [_mel(16, 1)], tmp_path)


class _Fft(nn.Module):
    def __init__(self, hop: int) -> None:
        super().__init__()
        self.hop = hop
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        spec = torch.fft.rfft(mel * self.w, dim=1).abs()
        return spec[:, :1].repeat_interleave(self.hop, dim=-1)


def test_onnx_export_failure_names_the_operator_and_the_model(tiny, tmp_path):
    voc = TorchVocoder(tiny.spec, _Fft(tiny.hop_length), False)
    with pytest.raises(VocoderError, match="fft") as info:
        get_variant("onnx-fp32").apply(voc, None, tmp_path)
    assert voc.name in str(info.value)
