"""Reading checkpoints of the official repositories into greenvoc's modules.

greenvoc's inference modules carry no weight norm: a checkpoint's weight-norm pairs are folded
into plain weights at load time, whether they use the old keys (``X.weight_g``/``X.weight_v``)
or the parametrization keys (``X.parametrizations.weight.original0``/``original1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from greenvoc.vocoders.base import CheckpointError

_NEW_G = ".parametrizations.weight.original0"
_NEW_V = ".parametrizations.weight.original1"


def fold_weight_norm(state: Mapping[str, torch.Tensor], dim: int = 0) -> dict[str, torch.Tensor]:
    """Replace every weight-norm pair by ``weight = g · v / ‖v‖`` (norm over all axes but
    ``dim``, as ``torch.nn.utils.weight_norm`` with its default ``dim=0``)."""
    out: dict[str, torch.Tensor] = {}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        for suffix_g, suffix_v in ((".weight_g", ".weight_v"), (_NEW_G, _NEW_V)):
            if key.endswith(suffix_g):
                pairs.setdefault(key[: -len(suffix_g)], {})["g"] = value
                break
            if key.endswith(suffix_v):
                pairs.setdefault(key[: -len(suffix_v)], {})["v"] = value
                break
        else:
            out[key] = value
    for prefix, pair in pairs.items():
        if set(pair) != {"g", "v"}:
            raise CheckpointError(f"weight-norm pair of {prefix!r} is incomplete: has {set(pair)}")
        v = pair["v"].float()
        axes = [a for a in range(v.dim()) if a != dim]
        norm = torch.linalg.vector_norm(v, dim=axes, keepdim=True) if axes else v.abs()
        out[f"{prefix}.weight"] = pair["g"].float() * v / norm
    return out


def read_checkpoint(path: Path, unwrap: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """A state dict from ``path``; ``unwrap`` names the nested keys to descend (e.g.
    ``("generator",)`` for jik876/hifi-gan's ``{"generator": state_dict}``)."""
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise CheckpointError(f"checkpoint {path} does not exist") from e
    except Exception as e:  # torch raises many types for a foreign or truncated file
        raise CheckpointError(
            f"cannot read checkpoint {path}: {type(e).__name__}: {e}. Is it a complete PyTorch "
            "checkpoint (not truncated, not an HTML error page from a failed download)?"
        ) from e
    for key in unwrap:
        if not isinstance(data, Mapping) or key not in data:
            found = list(data)[:10] if isinstance(data, Mapping) else type(data).__name__
            raise CheckpointError(
                f"{path}: expected a top-level key {key!r} (the official layout), found {found}"
            )
        data = data[key]
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, found {type(data).__name__}")
    return dict(data)


def _likely_cause(missing: list[str], unexpected: list[str]) -> str:
    if unexpected and all(re.match(r"^(module|generator|model)\.", k) for k in unexpected):
        return "the keys carry a wrapper prefix (module./generator./model.); strip it"
    if any("disc" in k or k.startswith(("mpd", "msd")) for k in unexpected):
        return "this looks like a discriminator or a full training checkpoint, not a generator"
    if missing and unexpected:
        return "the checkpoint belongs to another architecture or another variant (V1/V2/V3?)"
    if missing:
        return "the checkpoint is truncated or was saved from a smaller model"
    return "the checkpoint holds extra modules this model does not have"


def load_into(
    module: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    source: Path | str,
    rename: Callable[[str], str] | None = None,
) -> None:
    """Strictly load ``state`` (weight norm folded, keys optionally renamed) into ``module``.

    A mismatch raises :class:`CheckpointError` naming the missing and unexpected keys, the
    shape conflicts, and the likely cause.
    """
    state = fold_weight_norm(state)
    if rename is not None:
        state = {rename(k): v for k, v in state.items()}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")

        parts = [f"checkpoint {source} does not fit {type(module).__name__}"]
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {show(shapes)}")
            if not missing and not unexpected:
                parts.append("likely cause: another variant or another number of mel bands")
        if missing or unexpected:
            parts.append(f"likely cause: {_likely_cause(missing, unexpected)}")
        raise CheckpointError("; ".join(parts))
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
