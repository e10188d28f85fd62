"""Every variant on the small random-weight HiFi-GAN V2: same contract as fp32, close to it,
smaller where it should be, honest about what it did."""

from __future__ import annotations

import json

import pytest
import torch

from greenvoc.errors import UsageError
from greenvoc.quantize import VARIANTS, VariantResult, get_variant
from greenvoc.quantize.report import snr_db
from greenvoc.vocoders.base import Vocoder, VocoderError
from greenvoc.vocoders.registry import load_vocoder

FRAMES = 8

# Minimum SNR (dB) of each variant's audio against fp32 on hifigan-v2 (random weights, random
# log-mel-like input). Measured on this machine (torch 2.13 CPU, onnxruntime 1.32, 3 input
# seeds, 8 and 32 frames): bf16 ≈ 40, fp16 ≈ 60, int8-weight-only ≈ 45, onnx-int8 ≈ 27–30,
# onnx-int8-conv ≈ 37, int8-static ≈ 42, int8-mixed ≈ 28–32 (nothing fragile enough to keep
# float on random weights: it is onnx-int8 on convs only), int4-weight-only ≈ 24.
# Bounds sit ~10 dB under, above the noise floor each format implies: bf16 keeps 8 mantissa
# bits (≈ 48 dB per op, accumulating over ~80 layers), fp16 11 bits, int8 weights ≈ 45 dB per
# layer (int4, groups of 64: ≈ 25 dB), onnx-int8 also rounds every activation to uint8 with
# MinMax ranges from two calibration mels (onnx-int8-conv fewer of them). Random weights
# flatter int8: on the real HiFi-GAN V1 the same recipes lose far more (test_real_model.py).
MIN_SNR_DB = {"bf16": 30.0, "fp16": 45.0, "int8-weight-only": 35.0, "onnx-int8": 20.0,
              "onnx-int8-conv": 27.0, "int8-static": 32.0, "int8-mixed": 20.0,
              "int4-weight-only": 18.0}

# fp32 size / variant size. Exact ratios here: 1.98 (16-bit), 3.61 (int8 weights + fp32
# scales and biases), 3.07 (onnx-int8: int32 biases, per-channel scales and zero points), 1.98
# (onnx-int8-conv: the ConvTranspose weights, a third of V2's, and conv_pre/conv_post stay fp32),
# 3.57 (int8-static: int8 weights, per-channel scales, int64 zero points), 3.16 (int8-mixed:
# ConvTranspose weights int8-stored too), 6.86 (int4: 4.25 bits a weight, fp32 biases).
MIN_SIZE_RATIO = {"bf16": 1.9, "fp16": 1.9, "int8-weight-only": 3.3, "onnx-int8": 2.7,
                  "onnx-int8-conv": 1.8, "int8-static": 3.3, "int8-mixed": 2.9,
                  "int4-weight-only": 6.5}


def _mel(frames: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(80, frames, generator=g) * 2.0 - 5.0  # log-mel-like level and spread


@pytest.fixture(scope="module")
def voc() -> Vocoder:
    return load_vocoder("hifigan-v2")


@pytest.fixture(scope="module")
def mel() -> torch.Tensor:
    return _mel(FRAMES, seed=1)


@pytest.fixture(scope="module")
def reference(voc, mel) -> torch.Tensor:
    return voc.synthesize(mel)


#: Variants applied to a model as it is; int8-qat needs a fine-tuned student first
#: (`greenvoc quantize --variant int8-qat`), which tests/quantize/test_qat.py covers.
DIRECT = [name for name, v in VARIANTS.items() if v.prerequisite is None]


@pytest.fixture(scope="module")
def results(voc, tmp_path_factory) -> dict[str, VariantResult]:
    calibration = [_mel(48, seed=10), _mel(40, seed=11)]
    out = {}
    for name in DIRECT:
        if VARIANTS[name].available()[0]:
            out[name] = VARIANTS[name].apply(voc, calibration, tmp_path_factory.mktemp(name))
    return out


@pytest.fixture(scope="module")
def outputs(results, mel) -> dict[str, torch.Tensor]:
    """Each variant's audio for ``mel``, synthesized once (bf16/fp16 are slow on CPUs without
    native support)."""
    return {name: result.vocoder.synthesize(mel) for name, result in results.items()}


def _result(results, name: str) -> VariantResult:
    if name not in results:
        pytest.skip(f"{name}: {VARIANTS[name].available()[1]}")
    return results[name]


@pytest.mark.parametrize("name", DIRECT)
def test_variant_keeps_the_contract(results, outputs, voc, reference, name):
    result = _result(results, name)
    assert result.vocoder.spec is voc.spec
    assert result.vocoder.has_weights == voc.has_weights
    audio = outputs[name]
    assert audio.shape == reference.shape
    assert audio.dtype == torch.float32
    assert torch.isfinite(audio).all()
    assert result.bytes_on_disk > 0
    assert isinstance(result.detail, dict) and result.detail


@pytest.mark.parametrize("name", ["onnx-fp32", "bf16"])
def test_batched_mel_gives_batched_audio(results, mel, name):
    voc = _result(results, name).vocoder
    short = mel[:, :4]
    audio = voc.synthesize(torch.stack([short, short.flip(-1)]))
    assert audio.shape == (2, 4 * voc.hop_length)


@pytest.mark.parametrize("name", list(MIN_SNR_DB))
def test_variant_is_close_to_fp32(results, outputs, reference, name):
    _result(results, name)
    assert snr_db(outputs[name], reference) > MIN_SNR_DB[name]


def test_exact_variants_match_fp32(results, outputs, reference):
    assert torch.equal(outputs["fp32"], reference)
    # A conv-only model has nothing for quantize_dynamic: it must compute exactly as fp32.
    assert torch.equal(outputs["int8-dynamic"], reference)
    _result(results, "onnx-fp32")
    assert (outputs["onnx-fp32"] - reference).abs().max() < 1e-4


@pytest.mark.parametrize("name", list(MIN_SIZE_RATIO))
def test_variant_is_smaller_on_disk(results, name):
    fp32 = _result(results, "fp32").bytes_on_disk
    assert fp32 / _result(results, name).bytes_on_disk > MIN_SIZE_RATIO[name]


def test_int8_dynamic_says_it_touched_nothing_on_a_conv_model(results):
    detail = _result(results, "int8-dynamic").detail
    assert detail["layers_touched"] == 0
    assert detail["touched"] == []
    assert "changed nothing" in detail["note"]


def test_onnx_int8_reports_what_was_quantized(results):
    detail = _result(results, "onnx-int8").detail
    assert detail["quantize_linear_nodes"] > 0 and detail["dequantize_linear_nodes"] > 0
    assert detail["calibration_mels"] == 2
    assert detail["quantized_ops"]["Conv"]["quantized"] == 74  # every Conv of V2
    # onnxruntime has int8 Conv kernels, none for ConvTranspose: it runs in float.
    assert detail["runtime_ops"].get("QLinearConv", 0) == 74
    assert detail["runtime_ops"].get("ConvTranspose", 0) == 4


def test_onnx_int8_conv_keeps_the_ends_float(results):
    detail = _result(results, "onnx-int8-conv").detail
    assert detail["kept_float"] == ["/conv_post/Conv", "/conv_pre/Conv"]
    assert detail["runtime_ops"].get("QLinearConv", 0) == 72
    assert "QLinearAdd" not in detail["runtime_ops"]


def test_int8_weight_only_stores_every_weight_tensor(results, voc):
    detail = _result(results, "int8-weight-only").detail
    assert detail["touched_by_type"] == {"Conv1d": 74, "ConvTranspose1d": 4}
    weights = sum(p.numel() for p in voc.module.parameters() if p.dim() >= 2)
    assert detail["int8_params"] == weights


def test_fp32_variant_leaves_the_original_untouched(results, voc):
    assert all(p.dtype == torch.float32 for p in voc.module.parameters())


def test_unknown_variant_lists_the_names():
    with pytest.raises(UsageError, match="int8-dynamic") as info:
        get_variant("int2-magic")
    assert "onnx-int8" in str(info.value)


def test_calibrated_variant_without_mels_is_a_usage_error(voc, tmp_path):
    with pytest.raises(UsageError, match="calibration"):
        get_variant("onnx-int8").apply(voc, None, tmp_path)


def test_every_variant_says_whether_it_runs_here():
    for variant in VARIANTS.values():
        ok, why = variant.available()
        assert isinstance(ok, bool) and why


class _NoModule(Vocoder):
    def synthesize(self, mel):
        return torch.zeros(mel.shape[-1] * self.hop_length)


def test_a_vocoder_without_a_torch_module_is_refused(voc, tmp_path):
    with pytest.raises(VocoderError, match="torch vocoder"):
        get_variant("bf16").apply(_NoModule(voc.spec, False), None, tmp_path)


@pytest.mark.parametrize("name", DIRECT)
def test_detail_is_json(results, name):
    json.dumps(_result(results, name).detail)  # stored next to every benchmark result
