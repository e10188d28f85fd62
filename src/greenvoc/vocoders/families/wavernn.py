"""WaveRNN (Kalchbrenner et al., "Efficient Neural Audio Synthesis", ICML 2018) in the widely
used form of fatchord/WaveRNN (MIT): a mel ResNet + upsampling network conditions two GRUs that
generate one sample at a time, here from a mixture of 10 logistics ("MOL", its default
``voc_mode``).

Hyper-parameters from fatchord/WaveRNN ``hparams.py`` (rnn_dims 512, fc_dims 512,
compute_dims 128, res_out_dims 128, res_blocks 10, pad 2, target 11,000 / overlap 550 for
batched generation); architecture and key names from ``models/fatchord_version.py``. fatchord
uses hop 275 with upsampling factors (5, 5, 11); greenvoc's front-ends use hop 256, so the
factors here are (4, 8, 8). Only the three 1-row upsampling kernels change size (45 → 43
weights in total).

Generation is the batched ("folded") fast path: the upsampled conditioning is cut into
overlapping segments, all generated in one batch, then cross-faded back together. Two ways,
``WavernnConfig.generation``:

``"fatchord"`` (``wavernn-lj``, the published model) is ``models/fatchord_version.py::generate``
    with ``batched=True``: the mel zero-padded by ``pad`` frames, segments of exactly
    ``target + 2·overlap`` samples (the last zero-padded), cross-faded over the second half of
    each overlap, then cut to **(T − 1)·hop** samples whose last 20 hops fade linearly to 0.
``"greenvoc"`` (the hop-256 ``wavernn``) returns **T·hop** samples, the full length of the
    mel, with no fade-out: the edges are replicated (a log-mel's silence is its floor, not 0),
    segments are sized to the input (no 12,100 samples generated for a short mel) and each
    overlap is an equal-power cross-fade.

The generator network was checked against fatchord's code (teacher-forced logits equal to 1e-6
with the same weights). A checkpoint's architecture (widths, blocks, upsampling factors, hence
the hop) is read from its tensor shapes; a hop other than the front-end's is refused.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import CheckpointError, VocoderSpec, WeightsSource
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import mismatch, open_release

PAPER = "Kalchbrenner et al., Efficient Neural Audio Synthesis, ICML 2018; code fatchord/WaveRNN"
OFFICIAL_LAYOUT = "fatchord/WaveRNN"
N_MIXTURES = 10
#: fatchord's ``sample_from_discretized_mix_logistic``: log-scale floor log(1e-14).
LOG_SCALE_MIN = math.log(1e-14)


@dataclass(frozen=True)
class WavernnConfig:
    """fatchord's ``voc_*`` hparams (mode MOL, bits 9 for RAW), plus inference settings.

    target_samples, overlap_samples: the folded fast path's segment and cross-fade lengths;
    seed: the sampling noise, drawn per call and shared by the items of a batch (batched and
    single calls agree).
    """

    n_mels: int = 80
    mode: Literal["MOL", "RAW"] = "MOL"
    bits: int = 9
    upsample_factors: tuple[int, ...] = (4, 8, 8)
    rnn_dims: int = 512
    fc_dims: int = 512
    compute_dims: int = 128
    res_out_dims: int = 128
    res_blocks: int = 10
    pad: int = 2
    target_samples: int = 11_000
    overlap_samples: int = 550
    generation: Literal["greenvoc", "fatchord"] = "greenvoc"
    seed: int = 0

    @property
    def n_classes(self) -> int:
        return 3 * N_MIXTURES if self.mode == "MOL" else 2**self.bits


class ResBlock(nn.Module):
    def __init__(self, dims: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dims, dims, 1, bias=False)
        self.conv2 = nn.Conv1d(dims, dims, 1, bias=False)
        self.batch_norm1 = nn.BatchNorm1d(dims)
        self.batch_norm2 = nn.BatchNorm1d(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.batch_norm1(self.conv1(x)))
        return x + self.batch_norm2(self.conv2(h))


class MelResNet(nn.Module):
    """mel (B, n_mels, T + 2·pad) → (B, res_out_dims, T): a wider view of the mel."""

    def __init__(self, c: WavernnConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(c.n_mels, c.compute_dims, 2 * c.pad + 1, bias=False)
        self.batch_norm = nn.BatchNorm1d(c.compute_dims)
        self.layers = nn.ModuleList(ResBlock(c.compute_dims) for _ in range(c.res_blocks))
        self.conv_out = nn.Conv1d(c.compute_dims, c.res_out_dims, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.batch_norm(self.conv_in(x)))
        for layer in self.layers:
            x = layer(x)
        return self.conv_out(x)


class UpsampleNetwork(nn.Module):
    """Padded mel → (mel at sample rate (B, T·hop, n_mels), aux (B, T·hop, res_out_dims)).

    Each stage repeats every column ``s`` times and smooths with a (1, 2s+1) box-initialised
    Conv2d; fatchord interleaves them in ``up_layers`` (even: stretch, odd: conv), kept here
    so that keys match (``up_layers.1``, ``.3``, ``.5``).
    """

    def __init__(self, c: WavernnConfig) -> None:
        super().__init__()
        self.factors = c.upsample_factors
        self.indent = c.pad * math.prod(c.upsample_factors)
        self.resnet = MelResNet(c)
        self.up_layers = nn.ModuleList()
        for s in c.upsample_factors:
            conv = nn.Conv2d(1, 1, (1, 2 * s + 1), padding=(0, s), bias=False)
            nn.init.constant_(conv.weight, 1.0 / (2 * s + 1))
            self.up_layers.extend([nn.Identity(), conv])

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        aux = self.resnet(mel).repeat_interleave(math.prod(self.factors), dim=-1)
        m = mel.unsqueeze(1)
        for s, conv in zip(self.factors, self.up_layers[1::2], strict=True):
            m = conv(m.repeat_interleave(s, dim=-1))
        m = m.squeeze(1)[:, :, self.indent:-self.indent]
        return m.transpose(1, 2), aux.transpose(1, 2)


def sample_mol(params: torch.Tensor, u_mix: torch.Tensor, u_val: torch.Tensor) -> torch.Tensor:
    """Discretised mixture of logistics (B, 3·K) → samples (B,) in [−1, 1], given uniform
    draws u_mix (B, K) and u_val (B,) in (0, 1) (Gumbel-max mixture choice, logistic draw)."""
    logits, means, log_scales = params.chunk(3, dim=-1)
    gumbel = -torch.log(-torch.log(u_mix * (1 - 2e-5) + 1e-5))
    k = (logits + gumbel).argmax(dim=-1, keepdim=True)
    mean = means.gather(-1, k).squeeze(-1)
    log_scale = log_scales.gather(-1, k).squeeze(-1).clamp(min=LOG_SCALE_MIN)
    u = u_val * (1 - 2e-5) + 1e-5
    return (mean + log_scale.exp() * (torch.log(u) - torch.log1p(-u))).clamp(-1.0, 1.0)


def mu_law_decode(y: torch.Tensor, mu: float) -> torch.Tensor:
    return torch.sign(y) / mu * ((1 + mu) ** y.abs() - 1)


def fold(x: torch.Tensor, target: int, overlap: int) -> torch.Tensor:
    """(B, L, C) → (B·n, seg, C): n = ⌈(L − overlap) / (target + overlap)⌉ overlapping segments,
    seg = ⌈(L − overlap) / n⌉ + overlap ≤ target + 2·overlap, the last zero-padded; one segment
    (no overlap) when L fits in one. fatchord pads every segment to target + 2·overlap; sizing
    them to the input avoids generating up to 12,100 samples of padding for a short mel.
    :func:`unfold` inverts it."""
    batch, length, channels = x.shape
    n = max(1, math.ceil((length - overlap) / (target + overlap)))
    if n == 1:
        return x
    seg = math.ceil((length - overlap) / n) + overlap
    step = seg - overlap
    x = F.pad(x, (0, 0, 0, n * step + overlap - length))
    segments = x.unfold(1, seg, step)  # (B, n, C, seg)
    return segments.permute(0, 1, 3, 2).reshape(batch * n, seg, channels)


def unfold(y: torch.Tensor, batch: int, length: int, overlap: int) -> torch.Tensor:
    """(B·n, seg) → (B, length): equal-power cross-fade over each ``overlap`` (fatchord's
    ``xfade_and_unfold`` fades over the second half of the overlap only, after silence)."""
    n, seg = y.shape[0] // batch, y.shape[1]
    if n == 1:
        return y[:, :length]
    y = y.reshape(batch, n, seg)
    t = torch.linspace(-1, 1, overlap, dtype=y.dtype, device=y.device)
    fade_in, fade_out = (0.5 * (1 + t)).sqrt(), (0.5 * (1 - t)).sqrt()
    y = y.clone()
    y[:, 1:, :overlap] *= fade_in
    y[:, :-1, -overlap:] *= fade_out
    step = seg - overlap
    out = torch.zeros(batch, n * step + overlap, dtype=y.dtype, device=y.device)
    for i in range(n):
        out[:, i * step:i * step + seg] += y[:, i]
    return out[:, :length]


class Wavernn(nn.Module):
    """mel (B, n_mels, T) → waveform (B, T·hop), one sample per GRU step, folded in batch."""

    def __init__(self, config: WavernnConfig) -> None:
        super().__init__()
        c = self.config = config
        self.aux_dims = c.res_out_dims // 4
        self.upsample = UpsampleNetwork(c)
        self.I = nn.Linear(c.n_mels + self.aux_dims + 1, c.rnn_dims)  # fatchord's key
        self.rnn1 = nn.GRU(c.rnn_dims, c.rnn_dims, batch_first=True)
        self.rnn2 = nn.GRU(c.rnn_dims + self.aux_dims, c.rnn_dims, batch_first=True)
        self.fc1 = nn.Linear(c.rnn_dims + self.aux_dims, c.fc_dims)
        self.fc2 = nn.Linear(c.fc_dims + self.aux_dims, c.fc_dims)
        self.fc3 = nn.Linear(c.fc_dims, c.n_classes)
        # fatchord's training-step counter, a buffer of its state dict
        self.register_buffer("step", torch.zeros(1, dtype=torch.long))

    @staticmethod
    def _cell(gru: nn.GRU) -> nn.GRUCell:
        cell = nn.GRUCell(gru.input_size, gru.hidden_size).to(gru.weight_ih_l0)
        cell.weight_ih, cell.weight_hh = gru.weight_ih_l0, gru.weight_hh_l0
        cell.bias_ih, cell.bias_hh = gru.bias_ih_l0, gru.bias_hh_l0
        return cell

    def _noise(self, segments: int, steps: int, device: torch.device) -> torch.Tensor:
        gen = torch.Generator(device="cpu").manual_seed(self.config.seed)
        width = N_MIXTURES + 1 if self.config.mode == "MOL" else 1
        return torch.rand(steps, segments, width, generator=gen).to(device)

    def _sample(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        if self.config.mode == "MOL":
            return sample_mol(logits, u[:, :N_MIXTURES], u[:, N_MIXTURES])
        # inverse-CDF draw from the softmax, then the class index → [−1, 1]
        cdf = logits.softmax(-1).cumsum(-1)
        label = (cdf < u).sum(-1).clamp(max=logits.shape[-1] - 1).to(logits.dtype)
        return 2 * label / (2**self.config.bits - 1) - 1

    def forward(self, mel: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """noise: (steps, B·segments, K + 1) uniforms in [0, 1) (K for the mixture choice, one
        for the logistic; one for RAW), drawn from ``config.seed`` when None."""
        c = self.config
        batch, length = mel.shape[0], mel.shape[-1] * math.prod(c.upsample_factors)
        official = c.generation == "fatchord"
        cond, aux = self.upsample(F.pad(mel, (c.pad, c.pad),
                                        mode="constant" if official else "replicate"))
        folder = fold_fatchord if official else fold
        cond = folder(cond, c.target_samples, c.overlap_samples)
        aux = folder(aux, c.target_samples, c.overlap_samples)
        segments, steps = cond.shape[0] // batch, cond.shape[1]
        if noise is None:
            noise = self._noise(segments, steps, mel.device).repeat(1, batch, 1)
        a1, a2, a3, a4 = aux.split(self.aux_dims, dim=-1)
        rnn1, rnn2 = self._cell(self.rnn1), self._cell(self.rnn2)
        n = cond.shape[0]
        h1 = mel.new_zeros(n, c.rnn_dims)
        h2 = mel.new_zeros(n, c.rnn_dims)
        x = mel.new_zeros(n, 1)
        out = []
        for i in range(steps):
            h = self.I(torch.cat([x, cond[:, i], a1[:, i]], dim=1))
            h1 = rnn1(h, h1)
            h = h + h1
            h2 = rnn2(torch.cat([h, a2[:, i]], dim=1), h2)
            h = h + h2
            h = F.relu(self.fc1(torch.cat([h, a3[:, i]], dim=1)))
            h = F.relu(self.fc2(torch.cat([h, a4[:, i]], dim=1)))
            sample = self._sample(self.fc3(h), noise[i])
            out.append(sample)
            x = sample.unsqueeze(-1)
        audio = torch.stack(out, dim=1)
        if c.mode == "RAW":
            audio = mu_law_decode(audio, 2**c.bits - 1)
        if official:
            return fatchord_tail(unfold_fatchord(audio, batch, c.overlap_samples),
                                 mel.shape[-1], math.prod(c.upsample_factors))
        return unfold(audio, batch, length, c.overlap_samples)


def fold_fatchord(x: torch.Tensor, target: int, overlap: int) -> torch.Tensor:
    """fatchord's ``fold_with_overlap``, per item: (B, L, C) → (B·n, target + 2·overlap, C),
    n = ⌊(L − overlap)/(target + overlap)⌋ segments, one more (zero-padded) for a remainder."""
    batch, length, channels = x.shape
    n = (length - overlap) // (target + overlap)
    if length - (n * (overlap + target) + overlap) != 0:
        n += 1
    seg, step = target + 2 * overlap, target + overlap
    x = F.pad(x, (0, 0, 0, max(0, (n - 1) * step + seg - length)))
    segments = x.unfold(1, seg, step)[:, :n]  # (B, n, C, seg)
    return segments.permute(0, 1, 3, 2).reshape(batch * n, seg, channels)


def unfold_fatchord(y: torch.Tensor, batch: int, overlap: int) -> torch.Tensor:
    """fatchord's ``xfade_and_unfold`` in float64, per item: the first half of each overlap is
    silence (fade-in) or kept (fade-out), the second half an equal-power cross-fade.
    (B·n, seg) → (B, n·(seg − overlap) + overlap)."""
    n, seg = y.shape[0] // batch, y.shape[1]
    y = y.double().reshape(batch, n, seg).clone()
    silence = overlap // 2
    t = torch.linspace(-1, 1, overlap - silence, dtype=torch.float64, device=y.device)
    fade_in = torch.cat([torch.zeros(silence, dtype=torch.float64, device=y.device),
                         (0.5 * (1 + t)).sqrt()])
    fade_out = torch.cat([torch.ones(silence, dtype=torch.float64, device=y.device),
                          (0.5 * (1 - t)).sqrt()])
    y[..., :overlap] *= fade_in
    y[..., -overlap:] *= fade_out
    step = seg - overlap
    out = torch.zeros(batch, n * step + overlap, dtype=torch.float64, device=y.device)
    for i in range(n):
        out[:, i * step:i * step + seg] += y[:, i]
    return out


def fatchord_tail(audio: torch.Tensor, frames: int, hop: int) -> torch.Tensor:
    """``generate``'s ending: (T − 1)·hop samples, the last 20 hops faded linearly to 0."""
    audio = audio[:, :(frames - 1) * hop].clone()
    fade = torch.linspace(1, 0, 20 * hop, dtype=audio.dtype, device=audio.device)
    tail = min(audio.shape[-1], fade.numel())
    if tail:
        # numpy's output[-20·hop:] *= fade: for a shorter output the slice is the whole
        # signal and the shapes must agree, so fatchord fails there; greenvoc fades what is
        # left with the fade's last samples
        audio[:, -tail:] *= fade[-tail:]
    return audio.float()


RELEASE_PATTERNS = ("latest_weights.pyt", "*weights*.pyt", "*.pyt", "*.pt")


def read_official(path: Path) -> dict[str, torch.Tensor]:
    """A fatchord/WaveRNN vocoder state dict (``torch.save(model.state_dict())``, as the
    ``latest_weights.pyt`` inside ``pretrained/ljspeech.wavernn.mol.800k.zip``; training
    checkpoints nest it under ``"model"``), from the file, its folder or the zip."""
    with open_release(path, RELEASE_PATTERNS) as release:
        state = read_checkpoint(release.checkpoint)
    inner = state.get("model")
    return dict(inner) if isinstance(inner, dict) else state


def release_config(spec: VocoderSpec, path: Path) -> WavernnConfig:
    """The architecture in the checkpoint's tensor shapes (fatchord saves no config): widths,
    residual blocks, output classes and the upsampling factors (kernels (1, 2s + 1))."""
    state = read_official(path)
    try:
        factors = tuple((state[f"upsample.up_layers.{2 * i + 1}.weight"].shape[-1] - 1) // 2
                        for i in range(3))
        res_blocks = len({k.split(".")[3] for k in state
                          if k.startswith("upsample.resnet.layers.")})
        conv_in = state["upsample.resnet.conv_in.weight"]
        classes = state["fc3.weight"].shape[0]
        found = {"n_mels": conv_in.shape[1], "compute_dims": conv_in.shape[0],
                 "pad": (conv_in.shape[-1] - 1) // 2, "res_blocks": res_blocks,
                 "res_out_dims": state["upsample.resnet.conv_out.weight"].shape[0],
                 "rnn_dims": state["I.weight"].shape[0], "fc_dims": state["fc1.weight"].shape[0],
                 "upsample_factors": factors}
    except KeyError as e:
        raise CheckpointError(f"{path}: no {e} in the state dict; not a fatchord/WaveRNN "
                              f"vocoder (keys: {sorted(state)[:8]})") from None
    if classes == 3 * N_MIXTURES:
        found["mode"] = "MOL"
    else:
        found |= {"mode": "RAW", "bits": int(math.log2(classes))}
    config = dataclasses.replace(spec.config, **found)
    hop = math.prod(factors)
    if hop != spec.hop_length:
        mismatch(path, f"upsampling factors {factors} (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop; fatchord's published vocoder is "
                 "hop 275: use wavernn-lj")
    return config


def load_official(module: Wavernn, path: Path) -> None:
    state = read_official(path)
    load_into(module, state, path)


register(VocoderSpec(
    name="wavernn",
    family="autoregressive",
    config=WavernnConfig(),
    mel_preset="hifigan",
    build=Wavernn,
    weights=WeightsSource(
        "none", layout=OFFICIAL_LAYOUT, licence="MIT (fatchord/WaveRNN)",
        notes="fatchord's pretrained LJSpeech vocoder is hop 275 (factors 5,5,11); none for "
        "hop 256",
    ),
    load=load_official,
    configure=release_config,
    # fatchord's architecture at its own hparams (MOL, factors (5, 5, 11)): 4,233,675, which
    # its ``num_params`` prints as "Trainable Parameters: 4.234M"
    published_params=4_233_675,
    paper=PAPER,
    description="WaveRNN (fatchord, MOL output, rnn 512, fc 512, 10 res blocks) with upsampling "
    "factors adapted from (5,5,11) (hop 275) to (4,8,8) for the hop-256 hifigan front-end; "
    "batched folded generation (target 11,000, overlap 550) returning T·hop samples with no "
    "fade-out (fatchord returns (T−1)·hop with the last 20 hops faded: see wavernn-lj); "
    "architecture only",
))

register(VocoderSpec(
    name="wavernn-lj",
    family="autoregressive",
    config=WavernnConfig(upsample_factors=(5, 5, 11), generation="fatchord"),
    mel_preset="wavernn",
    build=Wavernn,
    weights=WeightsSource(
        "url", layout=OFFICIAL_LAYOUT, licence="MIT (fatchord/WaveRNN)",
        url="https://github.com/fatchord/WaveRNN/raw/83c08fdcd625be56244f4145f41500468974b144/"
            "pretrained/ljspeech.wavernn.mol.800k.zip",
        notes="fatchord's pretrained LJSpeech MOL vocoder (800k steps), the zip that "
              "quick_start.py unpacks: latest_weights.pyt, a bare state dict; the URL is "
              "pinned to a commit, no checksum is published",
    ),
    load=load_official,
    configure=release_config,
    published_params=4_233_675,
    paper=PAPER,
    description="WaveRNN as published by fatchord (LJSpeech, MOL, factors 5-5-11, hop 275) on "
    "its own mel (the 'wavernn' preset: n_fft 2048, win 1100, 80 Slaney mels from 40 Hz, dB "
    "mapped to [0, 1]); generate(batched=True, target 11,000, overlap 550): (T−1)·hop samples, "
    "the last 20 hops faded out",
))
