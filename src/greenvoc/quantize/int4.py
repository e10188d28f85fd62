"""``int4-weight-only``: group-wise int4 weights for storage, float32 compute.

Each weight is viewed as (output channels, reduction) — Conv1d (out, in, k) as (out, in·k),
ConvTranspose1d (in, out, k) permuted to (out, in, k) first — and cut into groups of
:data:`GROUP` consecutive reduction values (along the input channels). A group stores
symmetric int4 codes in [-7, 7] (scale = max|w| / 7, one float16 scale per group), two codes
packed per byte. At 64 values a group costs 64·4 + 16 bits: 4.25 bits a weight, ≈ 7.5× under
float32 (biases stay float32).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from greenvoc.quantize.base import Variant, VariantResult, register, storage_round_trip
from greenvoc.vocoders.base import Vocoder
from greenvoc.vocoders.torch_vocoder import TorchVocoder

GROUP = 64


def _as_rows(weight: torch.Tensor, transposed: bool) -> torch.Tensor:
    w = weight.detach().float()
    if transposed:
        w = w.transpose(0, 1)
    return w.reshape(w.shape[0], -1)


def pack_int4(weight: torch.Tensor, transposed: bool = False, group: int = GROUP
              ) -> dict[str, torch.Tensor]:
    """{"packed": uint8 (rows·groups·group/2,), "scale": float16 (rows, groups),
    "shape": int64 original shape}; ``transposed`` for ConvTranspose weights."""
    rows = _as_rows(weight, transposed)
    n_out, n_red = rows.shape
    pad = (-n_red) % group
    rows = torch.nn.functional.pad(rows, (0, pad)).reshape(n_out, -1, group)
    scale = (rows.abs().amax(dim=-1, keepdim=True) / 7).clamp(min=1e-8).half()
    codes = torch.round(rows / scale.float()).clamp(-7, 7).to(torch.int16) + 8  # 1..15
    flat = codes.reshape(-1).to(torch.uint8)
    packed = flat[0::2] | (flat[1::2] << 4)
    return {"packed": packed, "scale": scale.squeeze(-1),
            "shape": torch.tensor(weight.shape, dtype=torch.int64)}


def unpack_int4(entry: dict[str, torch.Tensor], transposed: bool = False) -> torch.Tensor:
    """The float32 weight of :func:`pack_int4`, in the original shape."""
    shape = [int(d) for d in entry["shape"]]
    packed = entry["packed"]
    codes = torch.stack([packed & 0x0F, packed >> 4], dim=-1).reshape(-1).to(torch.int16) - 8
    scale = entry["scale"].float()
    rows = (codes.reshape(*scale.shape, -1).float() * scale.unsqueeze(-1)).reshape(
        scale.shape[0], -1)
    if transposed:
        out = [shape[1], shape[0], *shape[2:]]
        n_red = int(torch.tensor(out[1:]).prod())
        return rows[:, :n_red].reshape(out).transpose(0, 1).contiguous()
    n_red = int(torch.tensor(shape[1:]).prod())
    return rows[:, :n_red].reshape(shape).contiguous()


def _is_transposed(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.conv._ConvTransposeNd)


def int4_state(module: nn.Module, group: int = GROUP) -> dict[str, object]:
    """Every parameter of ≥ 2 dims packed with :func:`pack_int4`, all codes in one uint8
    tensor and all scales in one float16 tensor (one storage each: torch.save's per-tensor
    overhead would otherwise eat the gain on small models); ``int4_index`` maps each weight to
    (code offset, code count, scale offset, rows, groups, shape); the rest as is."""
    state: dict[str, object] = {}
    codes, scales, index = [], [], {}
    n_codes = n_scales = 0
    for mod_name, mod in module.named_modules():
        for p_name, p in mod.named_parameters(recurse=False):
            key = f"{mod_name}.{p_name}" if mod_name else p_name
            if p.dim() >= 2 and p.is_floating_point():
                entry = pack_int4(p, _is_transposed(mod), group)
                rows, groups = entry["scale"].shape
                index[key] = (n_codes, entry["packed"].numel(), n_scales, rows, groups,
                              tuple(p.shape))
                codes.append(entry["packed"])
                scales.append(entry["scale"].reshape(-1))
                n_codes += entry["packed"].numel()
                n_scales += rows * groups
            else:
                state[key] = p.detach().clone()
    for key, buf in module.named_buffers():
        state[key] = buf.clone()
    state["int4_codes"] = torch.cat(codes) if codes else torch.zeros(0, dtype=torch.uint8)
    state["int4_scales"] = torch.cat(scales) if scales else torch.zeros(0, dtype=torch.half)
    state["int4_index"] = index
    return state


def load_int4(module: nn.Module, state: dict[str, object]) -> None:
    """Unpack an :func:`int4_state` into ``module`` (float32 weights)."""
    kinds = {name: _is_transposed(m) for name, m in module.named_modules()}
    full = {k: v for k, v in state.items() if not k.startswith("int4_")}
    codes, scales = state["int4_codes"], state["int4_scales"]
    for key, (c_off, c_len, s_off, rows, groups, shape) in state["int4_index"].items():
        entry = {"packed": codes[c_off:c_off + c_len],
                 "scale": scales[s_off:s_off + rows * groups].reshape(rows, groups),
                 "shape": torch.tensor(shape)}
        full[key] = unpack_int4(entry, kinds[key.rpartition(".")[0]])
    module.load_state_dict(full)


def _int4_weight_only(voc: Vocoder, _mels, workdir: Path) -> VariantResult:
    module, state, size = storage_round_trip(voc, "int4-weight-only", workdir, int4_state,
                                             load_int4)
    packed = list(state["int4_index"])
    kinds = Counter(type(module.get_submodule(k.rpartition(".")[0])).__name__ for k in packed)
    detail = {
        "storage": f"int4 symmetric, groups of {GROUP} along the input channels, float16 scale "
                   "per group, two codes a byte; biases float32",
        "compute": "float32 (dequantized at load)",
        "group_size": GROUP,
        "layers_touched": len(packed),
        "touched_by_type": dict(kinds),
        "int4_params": sum(math.prod(entry[5]) for entry in state["int4_index"].values()),
        "low_precision_ops": {},  # storage only: every op computes in float32
    }
    return VariantResult(TorchVocoder(voc.spec, module, voc.has_weights), size, detail)


register(Variant(
    "int4-weight-only",
    f"weights stored as group-wise int4 (group {GROUP}, float16 scales), dequantized to "
    "float32 at load: the embedded storage case", False, _int4_weight_only,
))
