"""The fine-tuned student as an onnxruntime int8 graph (QDQ with the learned scales).

The float generator (student weights, already on their int8 grid) is exported with
:func:`~greenvoc.quantize.onnx_variants.export_onnx`; then, per convolution of the plan:

``int8``
    ``Q → DQ`` on the input and on the output with the learned scale and zero point (uint8),
    the weight as int8 codes with the learned per-channel scales behind a ``DequantizeLinear``
    (axis 0), the bias as int32 at scale ``s_in · s_w`` (what ``QLinearConv`` adds): onnxruntime
    fuses each group into one ``QLinearConv`` (and a ``DQ → LeakyRelu → Q`` between two of them
    into ``QLinearLeakyRelu``).
``w8``
    only the weight as int8 codes + ``DequantizeLinear``: float compute on int8-stored weights.
``fp32``
    untouched.

:func:`match_mel_l1` compares what onnxruntime computes with the fake-quant student in PyTorch
(log-mel L1: float and integer arithmetic break rounding ties differently, and a deep
generator carries a flipped code on to the waveform's fine phase, so the waveform SNR of even a
correct export can be low); the variant refuses an export that does not match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from greenvoc.quantize.fakequant import QuantConv, fold, quant_convs
from greenvoc.quantize.report import snr_db
from greenvoc.quantize.sensitivity import onnx_node_name
from greenvoc.vocoders.base import Vocoder, VocoderError
from greenvoc.vocoders.torch_vocoder import TorchVocoder


def _act_params(q) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        scale = np.array(float(q.scale()), dtype=np.float32)
        zero = np.array(int(q.zero_point()), dtype=np.uint8)
    return scale, zero


class _GraphWriter:
    """Collects the initializers and the nodes inserted around each convolution."""

    def __init__(self, graph) -> None:
        from onnx import numpy_helper

        self.graph, self.numpy_helper = graph, numpy_helper
        self.inits = {t.name: t for t in graph.initializer}
        self.constants: list = []  # DQ nodes of constant weights: placed first

    def add_init(self, array: np.ndarray, name: str) -> str:
        self.graph.initializer.append(self.numpy_helper.from_array(array, name))
        return name

    def replace_weight(self, name: str, codes: np.ndarray, scale: np.ndarray, axis: int,
                       dtype=np.int8) -> None:
        """Initializer ``name`` → integer codes + ``DequantizeLinear`` producing ``name``."""
        from onnx import helper

        self.graph.initializer.remove(self.inits.pop(name))
        args = [self.add_init(codes.astype(dtype), f"{name}_q"),
                self.add_init(scale.astype(np.float32), f"{name}_scale"),
                self.add_init(np.zeros(scale.shape, dtype=dtype), f"{name}_zero")]
        self.constants.append(helper.make_node("DequantizeLinear", args, [name],
                                               name=f"{name}_dq", axis=axis))

    def qdq(self, tensor: str, out: str, scale: np.ndarray, zero: np.ndarray, tag: str) -> list:
        from onnx import helper

        s = self.add_init(scale, f"{tag}_scale")
        z = self.add_init(zero, f"{tag}_zero")
        return [helper.make_node("QuantizeLinear", [tensor, s, z], [f"{tag}_q"], name=f"{tag}_Q"),
                helper.make_node("DequantizeLinear", [f"{tag}_q", s, z], [out],
                                 name=f"{tag}_DQ")]


def _weight_codes(qc: QuantConv) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        codes = qc.weight_q.codes(qc.conv.weight).numpy()
        scale = qc.weight_q.scale().numpy()
    return codes, scale


def write_qdq(student: nn.Module, float_module: nn.Module, voc: Vocoder, path: Path
              ) -> dict[str, int]:
    """Export ``student`` (fake-quant, CPU) as a QDQ graph at ``path``; returns how many
    convolutions went int8, w8 and fp32."""
    import onnx

    from greenvoc.quantize.onnx_variants import export_onnx

    folded = TorchVocoder(voc.spec, fold(student, float_module).eval(), voc.has_weights)
    export_onnx(folded, path, "int8-qat")
    model = onnx.load(str(path))
    graph = model.graph
    w = _GraphWriter(graph)
    by_node = {onnx_node_name(name, qc.conv): qc for name, qc in quant_convs(student).items()}
    missing = set(by_node) - {n.name for n in graph.node}
    if missing:
        raise VocoderError(f"{voc.name}: convolutions not found in the ONNX export: "
                           f"{sorted(missing)[:5]}")
    counts = {"int8": 0, "w8": 0, "fp32": 0}
    nodes = []
    for node in graph.node:
        qc = by_node.get(node.name)
        if qc is None:
            nodes.append(node)
            continue
        counts[qc.mode] += 1
        if qc.mode == "fp32":
            nodes.append(node)
            continue
        axis = 1 if isinstance(qc.conv, nn.ConvTranspose1d) else 0
        codes, w_scale = _weight_codes(qc)
        w.replace_weight(node.input[1], codes, w_scale, axis)
        if qc.mode == "w8":
            nodes.append(node)
            continue
        tag = node.name.strip("/").replace("/", "_")
        s_in, z_in = _act_params(qc.input_q)
        s_out, z_out = _act_params(qc.output_q)
        if len(node.input) > 2 and node.input[2]:
            bias_scale = (s_in * w_scale).astype(np.float32)
            bias = w.numpy_helper.to_array(w.inits[node.input[2]]).astype(np.float64)
            w.replace_weight(node.input[2], np.round(bias / bias_scale), bias_scale, 0,
                             dtype=np.int32)
        source, target = node.input[0], node.output[0]
        nodes += w.qdq(source, f"{tag}_in", s_in, z_in, f"{tag}_in")
        node.input[0] = f"{tag}_in"
        node.output[0] = f"{tag}_out_float"
        nodes.append(node)
        nodes += w.qdq(f"{tag}_out_float", target, s_out, z_out, f"{tag}_out")
    del graph.node[:]
    graph.node.extend(w.constants + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return counts


def match_mel_l1(onnx_voc: Vocoder, student: nn.Module, mel: torch.Tensor) -> float:
    """Log-mel L1 (nats, the vocoder's front-end) of onnxruntime's audio against the
    fake-quant student's on ``mel``."""
    from greenvoc.train.losses import mel_l1

    with torch.no_grad():
        reference = student(mel.reshape(1, *mel.shape[-2:])).reshape(1, -1)
    audio = onnx_voc.synthesize(mel).reshape(1, -1)
    return float(mel_l1(audio, reference, onnx_voc.mel_config))


def match_snr_db(onnx_voc: Vocoder, student: nn.Module, mel: torch.Tensor) -> float:
    """SNR (dB) of onnxruntime's audio against the fake-quant student's on ``mel``."""
    with torch.no_grad():
        reference = student(mel.reshape(1, *mel.shape[-2:])).flatten()
    return snr_db(onnx_voc.synthesize(mel).flatten(), reference)
