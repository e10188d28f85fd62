"""``int8-mixed``: onnxruntime static int8 except the layers a sensitivity analysis marks
fragile, which stay float32.

1. :func:`~greenvoc.quantize.sensitivity.layer_sensitivity` quantizes each convolution alone
   (simulated in PyTorch) and measures the whole model's SNR against fp32 on a held-out mel.
2. :func:`~greenvoc.quantize.sensitivity.fragile_layers` keeps the fewest layers float that
   bring the predicted SNR of the rest above :attr:`MixedConfig.target_snr_db`.
3. The ONNX recipe of ``onnx-int8`` runs with those nodes in ``nodes_to_exclude``.

The evaluation mel is the last calibration mel when there are several (held out of the
ranges), else the one calibration mel itself. The table, the chosen layers and the predicted
SNR go into ``detail["sensitivity"]``.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from greenvoc.quantize.base import Variant, VariantResult, register, torch_module
from greenvoc.quantize.onnx_int8 import OnnxInt8Recipe, apply_recipe
from greenvoc.quantize.onnx_variants import onnx_available
from greenvoc.quantize.sensitivity import fragile_layers, layer_sensitivity, predicted_snr_db
from greenvoc.vocoders.base import Vocoder

#: Only Conv nodes int8 (residual adds and activations float: quantizing them to uint8 cost
#: HiFi-GAN V1 most of its fidelity, 3 dB SNR vs 17 measured), the first and last conv float
#: (mel L1 vs fp32 on V1, espeak calibration: 0.65 nats without, 0.44 with); the float
#: convolutions keep int8-stored weights (0.44 nats either way, 40 → 14 MB).
CONV_RECIPE = OnnxInt8Recipe(op_types=("Conv",), first_last_float=True,
                             int8_storage_for_float=True)


@dataclass(frozen=True)
class MixedConfig:
    """target_snr_db: wanted SNR of the mixed model vs fp32 (additive-noise prediction);
    max_float_layers: most layers left float; eval_frames: frames of the evaluation mel (one
    forward of this length per conv layer)."""

    target_snr_db: float = 25.0
    max_float_layers: int = 12
    eval_frames: int = 32
    recipe: OnnxInt8Recipe = CONV_RECIPE


def _int8_mixed(config: MixedConfig, voc: Vocoder, mels: list[torch.Tensor] | None,
                workdir: Path) -> VariantResult:
    assert mels is not None  # Variant.apply checks
    mels = [voc.check_mel(m)[0] for m in mels]
    module = torch_module(voc, "int8-mixed")
    ranges_on = mels[:-1] if len(mels) > 1 else mels
    evaluation = mels[-1][:, : config.eval_frames]
    table = layer_sensitivity(module, ranges_on, evaluation)
    fragile = fragile_layers(table, config.target_snr_db, config.max_float_layers)
    result = apply_recipe(config.recipe, "int8-mixed", voc, mels, workdir,
                          exclude=tuple(r.onnx_node for r in fragile))
    result.detail["sensitivity"] = {
        "method": "each Conv1d/ConvTranspose1d alone with int8 weights (per channel) and uint8 "
                  "input/output (MinMax), simulated in PyTorch; SNR of the model's audio vs "
                  "fp32",
        "config": asdict(config),
        "evaluation_frames": int(evaluation.shape[-1]),
        "held_out": len(mels) > 1,
        "kept_float_layers": [r.layer for r in fragile],
        "predicted_snr_db": predicted_snr_db(table, fragile),
        "predicted_snr_all_int8_db": predicted_snr_db(table, []),
        "layers": [r.to_dict() for r in table],
    }
    return result


register(Variant(
    "int8-mixed",
    "onnx-int8 on Conv nodes with the first, the last and those a per-layer sensitivity "
    "analysis marks fragile kept float32 (fewest for a predicted 25 dB SNR vs fp32); float "
    "convolutions store int8 weights", True,
    functools.partial(_int8_mixed, MixedConfig()), onnx_available,
))
