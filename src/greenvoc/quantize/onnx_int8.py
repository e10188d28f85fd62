"""Static int8 for onnxruntime: ``quantize_static`` in QDQ format, calibrated on mels.

Two recipes of one function:

``onnx-int8``
    every op onnxruntime can quantize (Conv, ConvTranspose, Add, LeakyRelu, …), per-channel
    int8 weights, uint8 activations, MinMax: the fastest, and the one the field notes measured.
    On HiFi-GAN V1 its audio is far from fp32: the last conv's output, one tanh away from the
    waveform, is rounded to 256 levels.
``onnx-int8-conv``
    only Conv nodes, the first and the last kept float; residual adds and activations stay
    float. Closer to fp32 at some cost in speed.

onnxruntime has no int8 ConvTranspose kernel (onnxruntime #8988, #13270): even when the QDQ
graph wraps one, it runs ``DQ → ConvTranspose → Q`` in float. ``detail["quantized_ops"]``
counts what the QDQ graph wraps, ``detail["runtime_ops"]`` what onnxruntime really runs after
fusion (``QLinearConv`` is an int8 kernel; a bare ``ConvTranspose`` is float).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from greenvoc.quantize.base import Variant, VariantResult, register
from greenvoc.quantize.onnx_variants import (
    OPSET,
    OnnxVocoder,
    export_onnx,
    onnx_available,
    op_counts,
    quantized_ops,
    runtime_ops,
)
from greenvoc.quantize.onnx_weights import store_float_weights_int8
from greenvoc.vocoders.base import Vocoder, VocoderError

_COMPUTE = ("Conv", "ConvTranspose", "MatMul", "Gemm")


@dataclass(frozen=True)
class OnnxInt8Recipe:
    """activation: uint8 (asymmetric, what AVX2/AVX-512 u8s8 kernels want) or int8;
    op_types: op types to quantize, None for every type onnxruntime supports;
    first_last_float: keep the first and last compute node (Conv, MatMul, …) in float;
    int8_storage_for_float: store the weights of the convolutions left float as int8 (float
    compute on rounded weights), see :mod:`greenvoc.quantize.onnx_weights`."""

    activation: Literal["uint8", "int8"] = "uint8"
    op_types: tuple[str, ...] | None = None
    first_last_float: bool = False
    calibration: Literal["MinMax", "Entropy", "Percentile"] = "MinMax"
    int8_storage_for_float: bool = False


class MelReader:
    """onnxruntime ``CalibrationDataReader``: one (1, n_mels, T) batch per calibration mel."""

    def __init__(self, input_name: str, mels: list[torch.Tensor]) -> None:
        self.input_name = input_name
        self._batches = [m.reshape(1, *m.shape[-2:]).float().numpy() for m in mels]
        self._it = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._it, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self) -> None:
        self._it = iter(self._batches)


def first_last_compute_nodes(path: Path) -> list[str]:
    import onnx

    names = [n.name for n in onnx.load(str(path)).graph.node if n.op_type in _COMPUTE]
    return sorted({names[0], names[-1]}) if names else []


def equal_chunks(mels: list[torch.Tensor], frames: int = 64) -> list[torch.Tensor]:
    """The mels cut into (n_mels, F) chunks of one length F = min(frames, shortest mel)."""
    size = min(frames, *(m.shape[-1] for m in mels))
    return [m[:, i:i + size] for m in mels for i in range(0, m.shape[-1] - size + 1, size)]


def node_names(path: Path) -> set[str]:
    import onnx

    return {n.name for n in onnx.load(str(path)).graph.node}


def _prepared_fp32(voc: Vocoder, workdir: Path, stem: str) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    exported = export_onnx(voc, workdir / f"{stem}.export.onnx", stem)
    fp32 = workdir / f"{stem}.fp32.onnx"
    quant_pre_process(str(exported), str(fp32))  # shape inference + folding, as ORT advises
    exported.unlink()
    return fp32


def apply_recipe(recipe: OnnxInt8Recipe, stem: str, voc: Vocoder,
                 mels: list[torch.Tensor] | None, workdir: Path,
                 exclude: tuple[str, ...] = ()) -> VariantResult:
    """Quantize ``voc``'s ONNX export with ``recipe``; ``exclude``: more node names to keep
    float (``int8-mixed`` passes the fragile ones)."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    assert mels is not None  # Variant.apply checks
    fp32 = _prepared_fp32(voc, workdir, stem)
    out = workdir / f"{stem}.onnx"
    excluded = first_last_compute_nodes(fp32) if recipe.first_last_float else []
    excluded = sorted({*excluded, *exclude})
    missing = set(exclude) - node_names(fp32)
    if missing:
        raise VocoderError(f"{voc.name}: nodes to keep float not in the ONNX graph: "
                           f"{sorted(missing)[:5]}")
    batches = [voc.check_mel(m)[0] for m in mels]
    if recipe.calibration != "MinMax":  # histogram calibrators stack batches: equal lengths
        batches = equal_chunks(batches)
    try:
        quantize_static(
            str(fp32), str(out), MelReader("mel", batches),
            quant_format=QuantFormat.QDQ, per_channel=True, weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8 if recipe.activation == "uint8" else QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, recipe.calibration),
            op_types_to_quantize=list(recipe.op_types) if recipe.op_types else None,
            nodes_to_exclude=excluded,
        )
    except Exception as e:  # onnxruntime raises plain Exceptions from calibration
        raise VocoderError(f"{voc.name}: onnxruntime quantize_static failed ({e})") from e
    int8_storage = store_float_weights_int8(out) if recipe.int8_storage_for_float else []
    ops = op_counts(out)
    runtime = runtime_ops(out, workdir)
    detail: dict[str, Any] = {
        "api": "onnxruntime.quantization.quantize_static",
        "recipe": asdict(recipe),
        "format": "QDQ", "weights": "int8 per-channel", "activations": recipe.activation,
        "calibration": recipe.calibration, "calibration_mels": len(mels),
        "calibration_frames": int(sum(m.shape[-1] for m in mels)),
        "kept_float": excluded,
        "float_compute_int8_weights": int8_storage,
        "opset": OPSET, "onnxruntime": ort.__version__,
        "quantize_linear_nodes": ops.get("QuantizeLinear", 0),
        "dequantize_linear_nodes": ops.get("DequantizeLinear", 0),
        "quantized_ops": quantized_ops(out),
        "runtime_ops": runtime,
        # int8 kernels onnxruntime runs after QDQ fusion; everything else computes in float
        "low_precision_ops": {op: n for op, n in runtime.items()
                              if op.startswith("QLinear") or op.endswith("Integer")},
        "fp32_bytes": fp32.stat().st_size,
    }
    fp32.unlink()  # only the quantized graph is the variant
    return VariantResult(OnnxVocoder(voc.spec, out, voc.has_weights), out.stat().st_size,
                         detail)


def _register(name: str, description: str, recipe: OnnxInt8Recipe) -> None:
    register(Variant(name, description, True, functools.partial(apply_recipe, recipe, name),
                     onnx_available))


_register(
    "onnx-int8",
    "onnxruntime quantize_static: QDQ, int8 per-channel weights, uint8 activations, MinMax "
    "calibration, every quantizable op; ConvTranspose still runs in float",
    OnnxInt8Recipe(),
)
_register(
    "onnx-int8-conv",
    "as onnx-int8 but only Conv nodes, first and last kept float (adds, activations, "
    "ConvTranspose float): closer to fp32, a little slower",
    OnnxInt8Recipe(op_types=("Conv",), first_last_float=True),
)
