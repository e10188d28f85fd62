"""What a quantization variant is: a named recipe that turns a ``Vocoder`` into another one.

A :class:`Variant` is configuration (a name, whether it needs calibration mels, a probe that says
whether this machine can run it, and the function that applies it); every variant lives once in
:data:`VARIANTS`. Applying one gives a :class:`VariantResult`: the new vocoder (same spec, same
``synthesize`` contract), the size of its serialized form, and a ``detail`` dict that says what
was actually done, including when nothing was (``int8-dynamic`` on a conv-only model).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from greenvoc.errors import UsageError
from greenvoc.vocoders.base import Vocoder, VocoderError, unknown_name
from greenvoc.vocoders.torch_vocoder import TorchVocoder


@dataclass(frozen=True)
class VariantResult:
    """vocoder: the variant, ready to ``synthesize``; bytes_on_disk: size of its serialized
    form (``torch.save`` of the state it needs, or the ``.onnx`` file); detail: what was done
    (layers touched, calibration set size, formats, library versions), JSON-serializable."""

    vocoder: Vocoder
    bytes_on_disk: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def megabytes_on_disk(self) -> float:
        return self.bytes_on_disk / 1e6


ApplyFn = Callable[[Vocoder, "list[torch.Tensor] | None", Path], VariantResult]


class NotApplicable(VocoderError):
    """The variant does not apply to this model (no layer of the kind it quantizes, no torch
    module): recorded as *not applicable* with this reason, never run as fp32 under its name."""


def _always() -> tuple[bool, str]:
    return True, "runs everywhere torch runs"


@dataclass(frozen=True)
class Variant:
    """name: the key in :data:`VARIANTS`; needs_calibration: ``apply`` wants representative
    mels ((n_mels, T) each, from the vocoder's front-end); probe: () → (can run here, why);
    prerequisite: the step that must have run before ``apply`` (``int8-qat``'s fine-tuning),
    None for variants built from the model alone."""

    name: str
    description: str
    needs_calibration: bool
    apply_fn: ApplyFn
    probe: Callable[[], tuple[bool, str]] = _always
    prerequisite: str | None = None

    def available(self) -> tuple[bool, str]:
        """(runs on this machine, a sentence saying why or how well)."""
        return self.probe()

    def apply(self, voc: Vocoder, calibration_mels: list[torch.Tensor] | None,
              workdir: Path) -> VariantResult:
        """Build the variant of ``voc``; its files go under ``workdir`` (created)."""
        ok, why = self.available()
        if not ok:
            raise UsageError(f"variant {self.name!r} cannot run here: {why}")
        if self.needs_calibration and not calibration_mels:
            raise UsageError(
                f"variant {self.name!r} needs calibration mels: pass a few (n_mels, T) mels of "
                f"real speech from {voc.name}'s front-end ({voc.spec.mel_preset!r})"
            )
        if calibration_mels:
            check_calibration(voc, calibration_mels)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        result = self.apply_fn(voc, calibration_mels, workdir)
        result.detail.setdefault("param_bytes", param_bytes(result.vocoder))
        return result


def check_calibration(voc: Vocoder, mels: list[torch.Tensor]) -> None:
    """Each calibration mel must be (n_mels, T) or (1, n_mels, T) of ``voc``'s MelConfig."""
    n_mels = voc.mel_config.n_mels
    for i, mel in enumerate(mels):
        if mel.dim() not in (2, 3) or mel.shape[-2] != n_mels or mel.shape[-1] < 1:
            raise UsageError(
                f"calibration mel {i} has shape {tuple(mel.shape)}; {voc.name} takes "
                f"(n_mels={n_mels}, T) mels from its {voc.spec.mel_preset!r} front-end: "
                "compute the calibration set with that model's MelConfig"
            )


def param_bytes(voc: Vocoder) -> int | None:
    """Bytes the variant's weights take in memory: the torch module's parameters and buffers,
    or what the vocoder reports itself (``param_bytes()``, e.g. ONNX initializers)."""
    own = getattr(voc, "param_bytes", None)
    if callable(own):
        return own()
    module = getattr(voc, "module", None)
    if not isinstance(module, torch.nn.Module):
        return None
    tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}
    for name in dir(module):
        if name.startswith("_frozen_param"):  # PT2E-converted graphs keep int8 weights here
            value = getattr(module, name, None)
            if isinstance(value, torch.Tensor):
                tensors[id(value)] = value
    return sum(t.numel() * t.element_size() for t in tensors.values())


VARIANTS: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    if variant.name in VARIANTS:
        raise ValueError(f"variant {variant.name!r} is registered twice")
    VARIANTS[variant.name] = variant
    return variant


def get_variant(name: str) -> Variant:
    """The registered variant ``name``; an unknown name is a :class:`UsageError` listing all."""
    if name not in VARIANTS:
        raise unknown_name("quantization variant", name, list(VARIANTS))
    return VARIANTS[name]


def torch_module(voc: Vocoder, variant: str) -> torch.nn.Module:
    """The generator inside a :class:`TorchVocoder`; other vocoders (WORLD) cannot be cast."""
    if not isinstance(voc, TorchVocoder):
        raise VocoderError(
            f"variant {variant!r} needs a torch vocoder; {voc.name} is a "
            f"{type(voc).__name__} (DSP analysis–synthesis has no weights to quantize)"
        )
    return voc.module


def saved_bytes(obj: Any, path: Path) -> int:
    """``torch.save(obj, path)`` and the file's size in bytes."""
    torch.save(obj, path)
    return path.stat().st_size


def storage_round_trip(voc: Vocoder, variant: str, workdir: Path,
                       pack: Callable[[torch.nn.Module], dict],
                       unpack: Callable[[torch.nn.Module, dict], None]
                       ) -> tuple[torch.nn.Module, dict, int]:
    """A weight-only variant's artefact, written and read back: ``pack`` the generator into a
    state saved as ``<workdir>/<variant>.pt``, load it once and ``unpack`` it into a copy (the
    round trip is real). Returns (the float module, the loaded state, bytes on disk)."""
    source = torch_module(voc, variant)
    path = workdir / f"{variant}.pt"
    size = saved_bytes(pack(source), path)
    state = torch.load(path, weights_only=True)
    module = copy.deepcopy(source)
    unpack(module, state)
    return module, state, size


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The ISA flags of the first CPU in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()
