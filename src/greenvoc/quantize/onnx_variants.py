"""Variants run by onnxruntime: onnx-fp32 (exported graph) and onnx-int8 (static QDQ).

Export uses ``torch.onnx.export(dynamo=False)`` (the TorchScript exporter: no onnxscript
needed) with dynamic batch and time axes. ``onnx-int8`` is ``quantize_static`` in QDQ format,
per-channel int8 weights, MinMax calibration on the caller's mels; onnxruntime has no int8
ConvTranspose kernel (onnxruntime #8988, #13270), so the upsampling layers usually stay float:
``detail["quantized_ops"]`` counts what was really quantized.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from greenvoc.quantize.base import Variant, VariantResult, register, torch_module
from greenvoc.vocoders.base import Vocoder, VocoderError, VocoderSpec

OPSET = 17
EXPORT_FRAMES = 32


class OnnxVocoder(Vocoder):
    """An onnxruntime session over an exported generator: mel (B, n_mels, T) → (B, T·hop).

    intra-op threads follow ``torch.get_num_threads()`` at construction, so a benchmark that
    pins torch's threads pins these too."""

    def __init__(self, spec: VocoderSpec, path: Path, has_weights: bool,
                 threads: int | None = None) -> None:
        super().__init__(spec, has_weights)
        import onnxruntime as ort

        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.path), options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def param_bytes(self) -> int:
        """Bytes of the graph's initializers (weights, scales, zero points) in their dtypes."""
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(self.path)).graph
        return sum(numpy_helper.to_array(t).nbytes for t in graph.initializer)

    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        batched = mel.dim() == 3
        mel = self.check_mel(mel).detach().to("cpu", torch.float32)
        try:
            (audio,) = self.session.run(None, {self.input_name: mel.numpy()})
        except Exception as e:  # onnxruntime's pybind errors share no public base class
            raise VocoderError(f"{self.name} ({self.path.name}): onnxruntime failed: {e}") from e
        out = torch.from_numpy(np.ascontiguousarray(audio)).reshape(mel.shape[0], -1)
        self.check_output(self.name, out)
        return out if batched else out[0]


def onnx_available() -> tuple[bool, str]:
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"pip install {' '.join(missing)} (or greenvoc[onnx])"
    import onnxruntime as ort

    return True, f"onnxruntime {ort.__version__}, CPUExecutionProvider"


def export_onnx(voc: Vocoder, path: Path, variant: str) -> Path:
    """The generator as ONNX with dynamic batch and frame axes (opset :data:`OPSET`)."""
    module = torch_module(voc, variant)
    example = torch.randn(1, voc.mel_config.n_mels, EXPORT_FRAMES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module, (example,), str(path), dynamo=False, opset_version=OPSET,
                input_names=["mel"], output_names=["audio"],
                dynamic_axes={"mel": {0: "batch", 2: "frames"},
                              "audio": {0: "batch", 2: "samples"}},
            )
    except Exception as e:  # the exporter raises many types; translate at the boundary
        raise VocoderError(f"{voc.name}: ONNX export failed ({type(e).__name__}: {e})") from e
    return path


def op_counts(path: Path) -> dict[str, int]:
    import onnx

    return dict(Counter(n.op_type for n in onnx.load(str(path)).graph.node))


def quantized_ops(path: Path) -> dict[str, dict[str, int]]:
    """Per compute op type: how many nodes read a DequantizeLinear output on their first
    (activation) input — quantized in QDQ terms — and how many stay float."""
    import onnx

    graph = onnx.load(str(path)).graph
    from_dq = {out for n in graph.node if n.op_type == "DequantizeLinear" for out in n.output}
    table: dict[str, dict[str, int]] = {}
    for n in graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") or not n.input:
            continue
        row = table.setdefault(n.op_type, {"quantized": 0, "float": 0})
        row["quantized" if n.input[0] in from_dq else "float"] += 1
    return {op: row for op, row in sorted(table.items()) if op in _COMPUTE_OPS or row["quantized"]}


_COMPUTE_OPS = {"Conv", "ConvTranspose", "MatMul", "Gemm", "LSTM", "GRU"}


def runtime_ops(path: Path, workdir: Path) -> dict[str, int]:
    """Op types of the graph onnxruntime actually runs (extended optimizations: QDQ groups
    fused into ``QLinear*`` int8 kernels where one exists; what stays ``DQ → op → Q`` runs
    in float)."""
    import onnxruntime as ort

    optimized = workdir / f"{path.stem}.optimized.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(optimized)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ops = op_counts(optimized)
    optimized.unlink()
    return ops


def _onnx_fp32(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
    path = export_onnx(voc, workdir / "onnx-fp32.onnx", "onnx-fp32")
    import onnxruntime as ort

    detail = {"opset": OPSET, "exporter": "torch.onnx.export(dynamo=False)",
              "dynamic_axes": ["batch", "frames"], "onnxruntime": ort.__version__,
              "ops": op_counts(path), "low_precision_ops": {}}
    return VariantResult(OnnxVocoder(voc.spec, path, voc.has_weights), path.stat().st_size,
                         detail)


register(Variant(
    "onnx-fp32", "exported to ONNX (opset 17, dynamic time axis), run by onnxruntime in float32",
    False, _onnx_fp32, onnx_available,
))
