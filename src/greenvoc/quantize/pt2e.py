"""``int8-static``: PyTorch 2 export quantization (PT2E, torchao) of every convolution.

``torch.export`` → :class:`ConvQuantizer` annotates each ``aten.conv1d`` (int8 weights per
output channel, uint8 activations per tensor: the x86 recipe of
``X86InductorQuantizer``) and each ``aten.conv_transpose1d`` (per-tensor int8 weights: the
per-channel observer does not support ConvTranspose) → ``prepare_pt2e`` → calibration on mels
→ ``convert_pt2e``.

Why a quantizer of our own: torchao 0.18's ``X86InductorQuantizer`` annotates ``conv1d`` only
when a ReLU follows it and never ``conv_transpose1d``; on HiFi-GAN (LeakyReLU before each conv)
it quantizes nothing, silently. The converted graph runs the reference decomposition
(dequantize → fp32 conv → quantize) in eager mode: numerically int8, not faster.
``compiled=True`` in :func:`_int8_static` runs it through ``torch.compile`` (inductor) and the
detail says which path ran. Measured on HiFi-GAN V1, AMD EPYC with AVX2 only (no VNNI), 2
threads: eager 0.46× fp32's speed, inductor 0.94× (compile ≈ 60 s): on this CPU PT2E int8
buys size (3.9×) and the best int8 fidelity, not speed (benchmarks/quantize_gain.py).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenvoc.quantize.base import NotApplicable, Variant, VariantResult, register, torch_module
from greenvoc.vocoders.base import Vocoder, VocoderError

CONV = "aten.conv1d.default"
CONV_T = "aten.conv_transpose1d.default"
_QUANT_OPS = ("quantize_per_tensor", "quantize_per_channel", "dequantize_per_tensor",
              "dequantize_per_channel")


def _specs():
    from torchao.quantization.pt2e import MinMaxObserver
    from torchao.quantization.pt2e.quantizer import QuantizationSpec
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        get_default_x86_inductor_quantization_config,
    )

    config = get_default_x86_inductor_quantization_config()
    per_tensor = QuantizationSpec(
        dtype=torch.int8, quant_min=-127, quant_max=127, qscheme=torch.per_tensor_symmetric,
        is_dynamic=False, observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12),
    )
    return config.input_activation, config.weight, per_tensor


def module_path(node: torch.fx.Node) -> str:
    """The ``named_modules`` name of the innermost module that emitted ``node`` ('' if none)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return re.sub(r"^L\['self'\]\.?", "", path)


def _quantizer_class():
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, Quantizer

    class ConvQuantizer(Quantizer):
        """Annotates conv1d (per-channel) and conv_transpose1d (per-tensor) nodes whose module
        path is not in ``skip``."""

        def __init__(self, skip: frozenset[str] = frozenset()) -> None:
            super().__init__()
            self.skip = skip
            self.annotated: list[str] = []

        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            act, weight, per_tensor = _specs()
            for node in model.graph.nodes:
                target = str(node.target)
                if node.op != "call_function" or target not in (CONV, CONV_T):
                    continue
                if module_path(node) in self.skip:
                    continue
                inputs = {node.args[0]: act, node.args[1]: weight if target == CONV
                          else per_tensor}
                node.meta["quantization_annotation"] = QuantizationAnnotation(
                    input_qspec_map=inputs, _annotated=True)
                self.annotated.append(module_path(node))
            return model

        def validate(self, model: torch.fx.GraphModule) -> None:
            pass

    return ConvQuantizer


def export_module(module: nn.Module, n_mels: int, name: str) -> torch.fx.GraphModule:
    """``torch.export`` with a dynamic frame axis; an unsupported operator is a VocoderError
    naming it and the model."""
    example = torch.randn(1, n_mels, 32)
    frames = torch.export.Dim("frames", min=2, max=1 << 20)
    try:
        return torch.export.export(module, (example,), dynamic_shapes=({2: frames},)).module()
    except Exception as e:  # export raises many types (Unsupported, UserError, …)
        op = re.search(r"(aten::\w+|aten\.\w+|torch\.\w+(?:\.\w+)*)", str(e))
        where = f" on operator {op.group(1)}" if op else ""
        raise VocoderError(f"{name}: torch.export failed{where} ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from e


def low_precision_ops(gm: torch.fx.GraphModule) -> dict[str, dict[str, int]]:
    """Per conv op: how many take a dequantized (int8) input, and how many stay float."""
    dq = {n for n in gm.graph.nodes if "dequantize" in str(n.target)}
    table: dict[str, dict[str, int]] = {}
    for n in gm.graph.nodes:
        if str(n.target) in (CONV, CONV_T):
            row = table.setdefault(str(n.target).split(".")[1], {"int8": 0, "float": 0})
            row["int8" if n.args and n.args[0] in dq else "float"] += 1
    return table


def quantize_pt2e(module: nn.Module, mels: list[torch.Tensor], name: str,
                  skip: frozenset[str] = frozenset()) -> tuple[torch.fx.GraphModule, list[str]]:
    """Convert ``module`` to PT2E int8: (converted graph module, names of quantized layers)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    n_mels = mels[0].shape[-2]
    gm = export_module(copy.deepcopy(module).eval(), n_mels, name)
    quantizer = _quantizer_class()(skip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(gm, quantizer)
        if not quantizer.annotated:
            raise NotApplicable(f"{name}: no Conv1d/ConvTranspose1d outside {sorted(skip)} to "
                                "quantize (int8-static covers convolutions only)")
        with torch.no_grad():
            for mel in mels:
                prepared(mel.reshape(1, n_mels, -1).float())
        converted = convert_pt2e(prepared)
    drop_unused_parameters(converted)
    return converted, quantizer.annotated


def drop_unused_parameters(gm: torch.fx.GraphModule) -> None:
    """Delete the fp32 weights that conversion replaced with int8 ``_frozen_param`` tensors
    but left attached (they would double the size in memory and on disk)."""
    used = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    for name, _ in list(gm.named_parameters()):
        if name not in used:
            owner_name, _, leaf = name.rpartition(".")
            owner = gm.get_submodule(owner_name) if owner_name else gm
            del owner._parameters[leaf]


class GraphVocoder(Vocoder):
    """A PT2E-converted graph (``torch.fx.GraphModule``) as a vocoder; optionally compiled.
    Not a TorchVocoder: exported graphs refuse ``.eval()``, and they are exported already."""

    def __init__(self, voc: Vocoder, gm: torch.fx.GraphModule, compiled: bool = False) -> None:
        super().__init__(voc.spec, voc.has_weights)
        self.module = gm
        self.runner = torch.compile(gm) if compiled else gm

    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        batched = mel.dim() == 3
        mel = self.check_mel(mel).to("cpu", torch.float32)
        with torch.no_grad():
            audio = self.runner(mel)
        audio = audio.reshape(mel.shape[0], -1).float()
        self.check_output(self.name, audio)
        return audio if batched else audio[0]


def graph_bytes(gm: torch.fx.GraphModule, path: Path) -> int:
    """Size of the graph's tensors (int8 weights as int8) saved with ``torch.save``."""
    torch.save(dict(gm.state_dict()), path)
    return path.stat().st_size


def _int8_static(voc: Vocoder, mels: list[torch.Tensor] | None, workdir: Path,
                 skip: frozenset[str] = frozenset(), variant: str = "int8-static",
                 compiled: bool = False) -> VariantResult:
    assert mels is not None  # Variant.apply checks
    module = torch_module(voc, variant)
    gm, annotated = quantize_pt2e(module, [voc.check_mel(m)[0] for m in mels], voc.name, skip)
    size = graph_bytes(gm, workdir / f"{variant}.pt")
    ops = Counter(str(n.target).split(".")[1] for n in gm.graph.nodes
                  if any(q in str(n.target) for q in _QUANT_OPS))
    detail: dict[str, Any] = {
        "api": "torchao.quantization.pt2e prepare_pt2e/convert_pt2e, greenvoc ConvQuantizer "
               "(X86InductorQuantizer's specs)",
        "weights": "int8 per output channel (Conv1d), int8 per tensor (ConvTranspose1d)",
        "activations": "uint8 per tensor, HistogramObserver",
        "layers_touched": len(annotated),
        "kept_float": sorted(skip),
        "low_precision_ops": low_precision_ops(gm),
        "qdq_nodes": dict(ops),
        "execution": "torch.compile (inductor)" if compiled else
                     "eager reference decomposition: dequantize → fp32 conv (int8 numerics, "
                     "float speed)",
        "calibration_mels": len(mels),
        "calibration_frames": int(sum(m.shape[-1] for m in mels)),
    }
    return VariantResult(GraphVocoder(voc, gm, compiled), size, detail)


register(Variant(
    "int8-static",
    "PT2E (torchao) static int8: every Conv1d per-channel, ConvTranspose1d per-tensor, uint8 "
    "activations calibrated on mels; eager reference execution (int8 numerics)", True,
    _int8_static,
))
