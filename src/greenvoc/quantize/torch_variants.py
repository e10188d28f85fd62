"""Variants that stay in PyTorch: fp32 (identity), int8-dynamic, bf16, fp16, int8-weight-only.

Every variant works on a deep copy: the vocoder it was given stays fp32, so a benchmark can run
both side by side.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from greenvoc.quantize.base import (
    Variant,
    VariantResult,
    cpu_flags,
    register,
    saved_bytes,
    storage_round_trip,
    torch_module,
)
from greenvoc.vocoders.base import Vocoder, VocoderSpec
from greenvoc.vocoders.torch_vocoder import TorchVocoder

#: Module types ``quantize_dynamic`` replaces (the only ones PyTorch has dynamic kernels for).
DYNAMIC_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.LSTM, nn.GRU)


class CastVocoder(TorchVocoder):
    """A generator cast to ``dtype``: the mel is cast in, the audio is returned as float32."""

    def __init__(self, spec: VocoderSpec, module: nn.Module, has_weights: bool,
                 dtype: torch.dtype) -> None:
        super().__init__(spec, module.to(dtype), has_weights)
        self.dtype = dtype

    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        batched = mel.dim() == 3
        mel = self.check_mel(mel).to(self.device, self.dtype)
        with torch.inference_mode():
            audio = self.module(mel)
        audio = audio.reshape(mel.shape[0], -1).float()
        self.check_output(self.name, audio)
        return audio if batched else audio[0]


def _fp32(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
    module = torch_module(voc, "fp32")
    size = saved_bytes(module.state_dict(), workdir / "fp32.pt")
    return VariantResult(voc, size, {"dtype": "float32", "layers_touched": 0,
                                     "note": "identity: the vocoder as given",
                                     "low_precision_ops": {}})


def _int8_dynamic(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
    module = copy.deepcopy(torch_module(voc, "int8-dynamic"))
    before = {name: type(m) for name, m in module.named_modules()}
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao; it still ships and works.
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.ao.quantization import quantize_dynamic

        qmodule = quantize_dynamic(module, set(DYNAMIC_TYPES), dtype=torch.qint8)
    changed = [name for name, m in qmodule.named_modules()
               if name in before and type(m) is not before[name]]
    counts = Counter(t.__name__ for t in before.values())
    detail = {
        "api": "torch.ao.quantization.quantize_dynamic",
        "dtype": "qint8 weights, activations quantized per batch at run time",
        "layers_touched": len(changed),
        "touched": changed,
        "candidates": {t.__name__: counts.get(t.__name__, 0) for t in DYNAMIC_TYPES},
        "low_precision_ops": dict(Counter(before[name].__name__ for name in changed)),
    }
    if not changed:
        detail["note"] = ("no Linear/LSTM/GRU in this model: quantize_dynamic changed nothing, "
                          "the variant computes exactly as fp32")
    size = saved_bytes(qmodule.state_dict(), workdir / "int8-dynamic.pt")
    return VariantResult(TorchVocoder(voc.spec, qmodule, voc.has_weights), size, detail)


def onednn_supports(name: str) -> bool | None:
    """Whether oneDNN (mkldnn) runs ``"bf16"``/``"fp16"`` convolutions on this CPU; None where
    torch cannot tell. Without it, CPU convolutions in that dtype fall back to ATen's slow
    reference path (measured here on AVX2: a 256-channel Conv1d ≈ 370× slower than fp32)."""
    probe = getattr(torch.ops.mkldnn, f"_is_mkldnn_{name}_supported", None)
    try:
        return bool(probe()) if probe is not None else None
    except RuntimeError:
        return None


def _cast(dtype: torch.dtype, name: str, native_flags: tuple[str, ...]):
    def apply(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
        module = copy.deepcopy(torch_module(voc, name))
        cast = CastVocoder(voc.spec, module, voc.has_weights, dtype)
        size = saved_bytes(cast.module.state_dict(), workdir / f"{name}.pt")
        native = sorted(set(native_flags) & cpu_flags())
        detail = {
            "dtype": str(dtype).removeprefix("torch."),
            "layers_touched": sum(1 for m in module.modules() if not list(m.children())),
            "native_cpu_support": native or None,
            "onednn_kernels": onednn_supports(name),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "low_precision_ops": dict(Counter(
                type(m).__name__ for m in module.modules() if not list(m.children()))),
        }
        return VariantResult(cast, size, detail)

    def probe() -> tuple[bool, str]:
        found = sorted(set(native_flags) & cpu_flags())
        onednn = onednn_supports(name)
        if found and onednn is not False:
            return True, f"native {name} on this CPU ({', '.join(found)})"
        return True, (f"runs, but this CPU lacks {'/'.join(native_flags)} (oneDNN {name}: "
                      f"{onednn}): convolutions take ATen's reference path, expect it tens to "
                      "hundreds of times slower than fp32")

    return apply, probe


def quantize_per_channel(weight: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per output channel: (int8 tensor like ``weight``, float32 scales of
    length ``weight.shape[axis]``); ``weight ≈ q * scale`` along ``axis``."""
    dims = [d for d in range(weight.dim()) if d != axis]
    amax = weight.detach().abs().amax(dim=dims, keepdim=True).float().clamp(min=1e-12)
    scale = amax / 127.0
    q = torch.round(weight.detach() / scale).clamp(-127, 127).to(torch.int8)
    return q, scale.flatten()


def dequantize_per_channel(q: torch.Tensor, scale: torch.Tensor, axis: int) -> torch.Tensor:
    shape = [1] * q.dim()
    shape[axis] = -1
    return q.float() * scale.reshape(shape)


def _weight_axis(module: nn.Module) -> int:
    # ConvTranspose stores (in, out / groups, k): its output channels are axis 1.
    return 1 if isinstance(module, nn.modules.conv._ConvTransposeNd) else 0


def int8_weight_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The state to store: every parameter of ≥ 2 dims as int8 + ``<name>.scale`` (float32)
    + ``<name>.axis``; biases and norms as they are."""
    state: dict[str, torch.Tensor] = {}
    for mod_name, mod in module.named_modules():
        for p_name, p in mod.named_parameters(recurse=False):
            key = f"{mod_name}.{p_name}" if mod_name else p_name
            if p.dim() >= 2 and p.is_floating_point():
                axis = _weight_axis(mod)
                state[key], state[f"{key}.scale"] = quantize_per_channel(p, axis)
                state[f"{key}.axis"] = torch.tensor(axis)
            else:
                state[key] = p.detach().clone()
    for key, buf in module.named_buffers():
        state[key] = buf.clone()
    return state


def load_int8_weights(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Dequantize an :func:`int8_weight_state` into ``module`` (float32 compute)."""
    full = {}
    for key, value in state.items():
        if key.endswith((".scale", ".axis")):
            continue
        if value.dtype == torch.int8:
            value = dequantize_per_channel(value, state[f"{key}.scale"],
                                           int(state[f"{key}.axis"]))
        full[key] = value
    module.load_state_dict(full)


def _int8_weight_only(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
    module, state, size = storage_round_trip(voc, "int8-weight-only", workdir,
                                             int8_weight_state, load_int8_weights)
    quantized = [k for k, v in state.items() if v.dtype == torch.int8]
    kinds = Counter(type(m).__name__ for name, m in module.named_modules()
                    if any(k.rsplit(".", 1)[0] == name for k in quantized))
    detail = {
        "storage": "int8 symmetric per output channel (scale = max|w| / 127), float32 scales; "
                   "biases float32",
        "compute": "float32 (dequantized at load)",
        "layers_touched": sum(kinds.values()),
        "touched_by_type": dict(kinds),
        "int8_params": sum(state[k].numel() for k in quantized),
        "low_precision_ops": {},  # storage only: every op computes in float32
    }
    return VariantResult(TorchVocoder(voc.spec, module, voc.has_weights), size, detail)


register(Variant("fp32", "the model as given (float32): the reference", False, _fp32))
register(Variant(
    "int8-dynamic",
    "torch quantize_dynamic: int8 Linear/LSTM/GRU weights, activations quantized at run time; "
    "convolutions untouched", False, _int8_dynamic,
))
_bf16_apply, _bf16_probe = _cast(torch.bfloat16, "bf16", ("avx512_bf16", "amx_bf16"))
register(Variant("bf16", "weights and activations cast to bfloat16", False, _bf16_apply,
                 _bf16_probe))
_fp16_apply, _fp16_probe = _cast(torch.float16, "fp16", ("avx512_fp16", "amx_fp16"))
register(Variant("fp16", "weights and activations cast to float16", False, _fp16_apply,
                 _fp16_probe))
register(Variant(
    "int8-weight-only",
    "weights stored int8 per channel with float32 scales, dequantized to float32 at load: "
    "the storage case (size shrinks, speed does not change)", False, _int8_weight_only,
))
