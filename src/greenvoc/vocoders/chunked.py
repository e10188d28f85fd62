"""Long inputs in bounded memory: a mel cut into overlapping chunks, stitched back seamlessly.

Chunk i owns frames [s, e) of a T-frame mel (``chunk_frames`` at most; the chunks are balanced,
so none is shorter than half of it) and is synthesized from the window [s − K, e + K) ∩ [0, T),
K the context. Every model of the zoo is translation-equivariant away from the edges, so
sample n of a window that starts at frame w is global sample w·hop + n whether the model
returns T·hop samples or (T−1)·hop (centred iSTFT): the window keeps its own span and drops
the context. Around each seam a cross-fade of ``crossfade_frames`` frames mixes the two
neighbours (:func:`crossfade`): where they agree the output is the one-pass output to float
rounding.

They agree when K covers the receptive field: K = reach + ⌈crossfade / 2⌉, the reach measured
once per architecture (:func:`measure_reach_frames`). Exactly local models (HiFi-GAN, MelGAN,
BigVGAN, iSTFTNet, Vocos) then give the one-pass samples. Models that draw noise per call
(diffusion, WaveGlow, Parallel WaveGAN and UnivNet's input noise, Griffin-Lim's initial
phase) draw a different realisation per window, and autoregressive ones restart their state:
there the cross-fade turns a jump into a short, power-preserving blend of two valid outputs.
WORLD analyses the waveform (``copy_synthesize``), not a mel, and is not chunked: pyworld
runs on the whole signal, its memory linear in it (+238 MB peak RSS for 60 s measured, about
4 MB per second of audio).

Memory: each forward sees at most ``chunk_frames`` + 2·K frames, whatever the input length;
what grows with the input is the mel and the output itself (4 bytes per sample).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from greenvoc.errors import UsageError

if TYPE_CHECKING:
    from greenvoc.vocoders.base import Vocoder, VocoderSpec

log = logging.getLogger(__name__)

#: Frames a chunk owns by default: 1,024 frames = 11.9 s at 22.05 kHz (10.9 s at 24 kHz), so
#: LJSpeech's utterances (≤ 10.1 s) stay one pass. The bound it sets, measured as peak RSS
#: above the loaded model on a CPU: HiFi-GAN V1 takes ~0.2 MB per frame of a forward, so
#: 1,024 + 2·15 frames peak at +170 to +300 MB, for any input length (one pass over 4,208
#: frames: +886 MB; over the 51,680 frames of 10 minutes: ~11 GB).
DEFAULT_CHUNK_FRAMES = 1024
#: Seam length: 2 frames = 512 samples, about fatchord WaveRNN's 550-sample fold overlap.
CROSSFADE_FRAMES = 2
#: Context where the reach cannot be measured: an autoregressive model's every sample depends
#: on all the earlier ones. 32 frames cover the WaveNet vocoder's causal stack (8,185 samples),
#: so its queues are full of generated samples before the cross-fade.
UNBOUNDED_CONTEXT_FRAMES = 32
#: The reach probe starts at this many frames and grows ×4 while the perturbation reaches its
#: edges, up to :data:`MAX_PROBE_FRAMES`; beyond, the model counts as unbounded. 64 frames hold
#: the GAN and Fourier models (reach ≤ 30 frames); flows, diffusion and Griffin-Lim need 256.
PROBE_START_FRAMES = 64
PROBE_GROWTH = 4
MAX_PROBE_FRAMES = 1024


@dataclass(frozen=True)
class ChunkPolicy:
    """A model's chunking settings; ``None`` fields are defaulted or measured.

    chunk_frames: frames per chunk (default :data:`DEFAULT_CHUNK_FRAMES`).
    context_frames: mel frames added on each side of a chunk; None measures the reach and adds
        half the cross-fade (:func:`measure_reach_frames`).
    crossfade_frames: seam length (default :data:`CROSSFADE_FRAMES`).
    """

    chunk_frames: int | None = None
    context_frames: int | None = None
    crossfade_frames: int | None = None


#: Family defaults, overridden field by field by ``VocoderSpec.chunking``.
FAMILY_POLICIES: dict[str, ChunkPolicy] = {
    # the perturbation would reach the end of any probe, after minutes of sampling
    "autoregressive": ChunkPolicy(context_frames=UNBOUNDED_CONTEXT_FRAMES),
}


def policy_for(spec: VocoderSpec) -> ChunkPolicy:
    """The family default with the spec's own ``chunking`` fields on top."""
    policy = FAMILY_POLICIES.get(spec.family, ChunkPolicy())
    if spec.chunking is None:
        return policy
    return replace(policy, **{k: v for k, v in vars(spec.chunking).items() if v is not None})


@dataclass(frozen=True)
class Chunk:
    """Frames [start, end) owned, synthesized from the window [window_start, window_end)."""

    window_start: int
    start: int
    end: int
    window_end: int


@dataclass(frozen=True)
class ChunkPlan:
    """How a mel is cut. context_source: where ``context_frames`` came from."""

    chunk_frames: int
    context_frames: int
    crossfade_frames: int
    context_source: str = ""
    max_window_frames: int = field(init=False)

    def __post_init__(self) -> None:
        minimum = min_chunk_frames(self.crossfade_frames)
        if self.chunk_frames < minimum:
            raise UsageError(
                f"chunk_frames = {self.chunk_frames} is too short: a chunk needs at least "
                f"{minimum} frames (twice the {self.crossfade_frames}-frame cross-fade, plus 2)"
            )
        if self.context_frames < math.ceil(self.crossfade_frames / 2):
            raise UsageError(f"context_frames = {self.context_frames} must cover half the "
                             f"{self.crossfade_frames}-frame cross-fade")
        object.__setattr__(self, "max_window_frames",
                           self.chunk_frames + 2 * self.context_frames)

    def chunks(self, frames: int) -> list[Chunk]:
        """Balanced chunks of a ``frames``-long mel, in order."""
        n = chunk_count(frames, self.chunk_frames)
        bounds = [round(i * frames / n) for i in range(n + 1)]
        k = self.context_frames
        return [Chunk(max(0, s - k), s, e, min(frames, e + k))
                for s, e in itertools.pairwise(bounds)]


def min_chunk_frames(crossfade_frames: int) -> int:
    """The shortest chunk whose seams do not overlap, even for a last chunk of half size."""
    return 2 * (crossfade_frames + 1)


def chunk_count(frames: int, chunk_frames: int) -> int:
    """Chunks a ``frames``-long mel is cut into (1: one pass)."""
    return max(1, math.ceil(frames / chunk_frames))


def probe_waveform(samples: int, sample_rate: int) -> np.ndarray:
    """A voiced, slowly gliding harmonic tone (F0 120 ± 60 Hz, 29 partials) with a little
    seeded noise, peak 0.2: its mel has energy in every band, as speech does."""
    t = np.arange(samples) / sample_rate
    f0 = 120.0 + 60.0 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    x = sum(np.sin(k * phase) / k for k in range(1, 30))
    x = 0.2 * x / np.abs(x).max()
    x = x + 0.003 * np.random.default_rng(0).standard_normal(samples)
    return x.astype(np.float32)


def measure_reach_frames(voc: Vocoder) -> int | None:
    """Frames of mel on either side that can change a frame's samples, or None (unbounded).

    The centre frame of a probe mel has its bands reversed; the reach is the widest
    distance, in frames, from that frame to a changed output sample (exact comparison: outside
    the receptive field nothing changes at all). Both mels run as one batch, so a model that
    seeds its noise per call draws the same noise for both. The probe grows while the change
    comes within an eighth of its ends: a change stopped short of them by saturated samples
    (tanh, clamps) would otherwise pass for the edge of the field.
    """
    hop = voc.hop_length
    frames = PROBE_START_FRAMES
    while frames <= MAX_PROBE_FRAMES:
        mel = voc.mel(probe_waveform(frames * hop, voc.sample_rate))
        centre = mel.shape[-1] // 2
        bumped = mel.clone()
        # the frame's bands in reverse: a large change that stays in the front-end's range
        bumped[:, centre] = mel[:, centre].flip(0)
        out = voc.synthesize(torch.stack([mel, bumped]).to(voc.device))
        changed = torch.nonzero(out[0] != out[1]).flatten()
        if len(changed) == 0:
            return 0
        first, last = int(changed[0]), int(changed[-1])
        margin = out.shape[-1] // 8
        if first >= margin and last < out.shape[-1] - margin:
            before = centre * hop - first
            after = last - ((centre + 1) * hop - 1)
            # + 1: a sample near a window's edge depends on the frame it falls in as well
            return math.ceil(max(before, after, 0) / hop) + 1
        frames *= PROBE_GROWTH
    return None


#: Measured reaches, kept across processes in the cache folder: a probe of a flow or a
#: diffusion model runs two forwards of 256 frames (minutes on a CPU).
REACH_FILE = "receptive_fields.json"
_REACH: dict[str, int | None] = {}


def _reach_key(spec: VocoderSpec) -> str:
    from greenvoc import __version__

    digest = hashlib.sha256(f"{spec.mel_preset}|{spec.config!r}".encode()).hexdigest()[:16]
    return f"{spec.name}|{__version__}|{digest}"


def _reach_file() -> Path:
    from greenvoc.vocoders.cache import cache_root

    return cache_root() / REACH_FILE


def _stored_reaches() -> dict[str, int | None]:
    try:
        stored = json.loads(_reach_file().read_text())
    except (OSError, ValueError):  # none yet, or unreadable: measure again
        return {}
    return stored if isinstance(stored, dict) else {}


def _store_reach(key: str, reach: int | None) -> None:
    path = _reach_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_stored_reaches() | {key: reach}, indent=1, sort_keys=True))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError as e:
        log.debug("cannot keep the measured reach in %s: %s", path, e)


def reach_frames(voc: Vocoder) -> int | None:
    """:func:`measure_reach_frames`, once per architecture (model name, greenvoc version,
    front-end and config), kept in this process and in ``<cache>/receptive_fields.json``."""
    key = _reach_key(voc.spec)
    if key not in _REACH:
        stored = _stored_reaches()
        if key in stored:
            _REACH[key] = stored[key]
        else:
            log.info("%s: measuring the receptive field for chunked synthesis (once)",
                     voc.name)
            _REACH[key] = measure_reach_frames(voc)
            _store_reach(key, _REACH[key])
    return _REACH[key]


def resolve_chunk_frames(spec: VocoderSpec, chunk_frames: int | None) -> int:
    """``chunk_frames`` if given, else the spec's or family's, else the default."""
    chunk = chunk_frames or policy_for(spec).chunk_frames or DEFAULT_CHUNK_FRAMES
    if chunk_frames is not None and chunk_frames < 1:
        raise UsageError(f"chunk_frames must be a positive number of mel frames, got "
                         f"{chunk_frames}")
    return chunk


def plan_chunks(voc: Vocoder, chunk_frames: int | None = None) -> ChunkPlan:
    """The plan for ``voc``: the spec's policy, else the family's, else measured defaults."""
    policy, own = policy_for(voc.spec), voc.spec.chunking
    crossfade = CROSSFADE_FRAMES if policy.crossfade_frames is None else policy.crossfade_frames
    half = math.ceil(crossfade / 2)
    if own is not None and own.context_frames is not None:
        context, source = own.context_frames, "set by the spec"
    elif policy.context_frames is not None:
        context, source = policy.context_frames, f"{voc.spec.family} family default"
    else:
        reach = reach_frames(voc)
        if reach is None:
            log.warning("%s: no bounded receptive field within %d frames; chunks get %d frames "
                        "of context and cross-faded seams", voc.name, MAX_PROBE_FRAMES,
                        UNBOUNDED_CONTEXT_FRAMES)
            context, source = UNBOUNDED_CONTEXT_FRAMES + half, "unbounded: default"
        else:
            context, source = reach + half, f"measured reach {reach} frames + {half}"
    return ChunkPlan(resolve_chunk_frames(voc.spec, chunk_frames), context, crossfade, source)


def crossfade(outgoing: torch.Tensor, incoming: torch.Tensor) -> torch.Tensor:
    """Blend two (B, n) takes of the same samples with raised-cosine fades, normalised by the
    takes' correlation ρ (clamped to [0, 1]): 1 / √(w_in² + w_out² + 2ρ·w_in·w_out). Equal
    takes (ρ = 1) get fades that sum to one, so they come out unchanged; independent draws
    (ρ = 0) get equal-power fades, without the 3 dB dip of a linear blend at the middle. No
    sample exceeds the larger magnitude of its two takes, so the blend of two full-scale takes
    stays in [-1, 1]."""
    k = torch.arange(outgoing.shape[-1], dtype=torch.float64)
    w_in = (0.5 - 0.5 * torch.cos(math.pi * (k + 0.5) / len(k))).to(outgoing)
    w_out = 1.0 - w_in
    dot = (outgoing * incoming).sum(-1, keepdim=True)
    norms = (outgoing.square().sum(-1, keepdim=True) * incoming.square().sum(-1, keepdim=True))
    rho = (dot / norms.sqrt().clamp(min=1e-12)).clamp(0.0, 1.0)
    gain = (w_in.square() + w_out.square() + 2 * rho * w_in * w_out).rsqrt()
    peak = torch.maximum(outgoing.abs(), incoming.abs())
    return torch.maximum(torch.minimum((w_out * outgoing + w_in * incoming) * gain, peak), -peak)


def stitch(synthesize: Callable[[torch.Tensor], torch.Tensor], mel: torch.Tensor,
           plan: ChunkPlan, hop: int, on_chunk: Callable[[int, int], None] | None = None,
           name: str = "the model") -> torch.Tensor:
    """mel (B, n_mels, T) → (B, samples) by ``plan``; ``synthesize`` maps a (B, n_mels, W)
    window to (B, W·hop + b), b a constant of the model (0, or −hop for a centred iSTFT)."""
    chunks = plan.chunks(mel.shape[-1])
    fade = plan.crossfade_frames * hop
    lead = fade // 2  # fade samples before the seam
    pieces: list[torch.Tensor] = []
    pending = None
    b = None
    for i, c in enumerate(chunks):
        y = synthesize(mel[..., c.window_start:c.window_end])
        extra = y.shape[-1] - (c.window_end - c.window_start) * hop
        if b is None:
            b = extra
        elif extra != b:
            from greenvoc.vocoders.base import VocoderError  # base imports this module

            raise VocoderError(
                f"{name} returned {y.shape[-1]} samples for {c.window_end - c.window_start} "
                f"frames (frames·hop {extra:+d}), the first window frames·hop {b:+d}: its "
                "output length is not frames·hop plus a constant, so it cannot be chunked; "
                "use synthesize on the whole mel"
            )
        origin = c.window_start * hop  # global index of y[..., 0]
        keep_from = c.start * hop - lead if i else 0
        last = i == len(chunks) - 1
        keep_to = y.shape[-1] + origin if last else c.end * hop - lead
        piece = y[..., keep_from - origin:keep_to - origin]
        if pending is not None and fade:
            piece = piece.clone()
            piece[..., :fade] = crossfade(pending, piece[..., :fade])
        pieces.append(piece)
        if not last:
            pending = y[..., keep_to - origin:keep_to - origin + fade]
        if on_chunk is not None:
            on_chunk(i + 1, len(chunks))
    return torch.cat(pieces, dim=-1)
