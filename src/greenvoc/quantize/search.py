"""Which layers to keep in float, measured jointly: a greedy search on the fake-quant student.

:mod:`~greenvoc.quantize.sensitivity` quantizes each layer alone and adds the noises up, as if
layers were independent. They are not (one layer's rounding is amplified or masked by the
layers after it), so here every candidate is judged in the context of all the others being
int8: round 1 tries each candidate in float with every other one int8 and keeps the one that
brings the whole model's audio closest to fp32; each later round re-tries the ``beam`` best
candidates of the round before, with those already chosen kept float, until the distance
reaches the target or ``max_groups`` are float. Float here means ``w8`` (int8 weights, float
compute): the size stays int8.

Candidates are groups of convolutions sharing a parent module (a residual block: its
convolutions share the stream they read and write), which keeps the search to a few dozen
forwards. The distance is the log-mel L1 (nats) of the audio against fp32's: waveform SNR is
no guide here, since a GAN vocoder's fine phase moves with any perturbation (int8 weights
alone, inaudible, already cost HiFi-GAN V1 ~10 dB of SNR).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from greenvoc.audio.mel import MelConfig
from greenvoc.quantize.fakequant import quant_convs


@dataclass(frozen=True)
class SearchStep:
    """After choosing ``group`` (None: the all-int8 start), the student's log-mel L1 vs fp32
    and how many candidates were tried for it."""

    group: str | None
    mel_l1: float
    tried: int


@dataclass(frozen=True)
class SearchResult:
    float_groups: tuple[str, ...]
    float_layers: tuple[str, ...]
    steps: tuple[SearchStep, ...]
    target_mel_l1: float
    evaluation_frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def int8_groups(student: nn.Module) -> dict[str, list[str]]:
    """parent module name → its int8 convolutions."""
    groups: dict[str, list[str]] = {}
    for name, m in quant_convs(student).items():
        if m.mode == "int8":
            groups.setdefault(name.rsplit(".", 2)[0], []).append(name)
    return groups


def greedy_float_groups(student: nn.Module, teacher: nn.Module, mels: list[torch.Tensor],
                        mel_config: MelConfig, target_mel_l1: float, max_groups: int,
                        beam: int = 6) -> SearchResult:
    """Switch groups of ``student`` (a :func:`~greenvoc.quantize.fakequant.wrap`-ed,
    calibrated generator) from ``int8`` to ``w8`` in place, greedily; mels: (n_mels, T) each,
    kept short (one forward per candidate)."""
    from greenvoc.train.losses import mel_l1

    batched = [m.reshape(1, *m.shape[-2:]) for m in mels]
    with torch.no_grad():
        references = [teacher(m) for m in batched]

    def distance() -> float:
        with torch.no_grad():
            return sum(float(mel_l1(student(m), r, mel_config))
                       for m, r in zip(batched, references, strict=True)) / len(batched)

    convs, groups = quant_convs(student), int8_groups(student)

    def set_mode(group: str, mode: str) -> None:
        for name in groups[group]:
            convs[name].mode = mode

    candidates = list(groups)
    current = distance()
    steps, chosen = [SearchStep(None, current, 0)], []
    while candidates and current > target_mel_l1 and len(chosen) < max_groups:
        scores = {}
        for group in candidates:
            set_mode(group, "w8")
            scores[group] = distance()
            set_mode(group, "int8")
        best = min(scores, key=scores.__getitem__)
        if scores[best] >= current:
            break  # no single group helps any more
        set_mode(best, "w8")
        chosen.append(best)
        current = scores[best]
        steps.append(SearchStep(best, current, len(scores)))
        candidates = sorted((g for g in scores if g != best), key=scores.__getitem__)[:beam]
    layers = tuple(name for g in chosen for name in groups[g])
    return SearchResult(tuple(chosen), layers, tuple(steps), target_mel_l1,
                        int(sum(m.shape[-1] for m in mels)))
