"""WaveNet vocoder (van den Oord et al., 2016; Shen et al., 2018) with a mixture-of-logistics
output (Salimans et al., PixelCNN++): autoregressive, one sample per network pass.

Official code and checkpoint: r9y9/wavenet_vocoder (MIT) at commit 2092a64, the commit its
README names for the LJSpeech model ``20180510_mixture_lj_checkpoint_step000320000_ema.pth``
(preset ``presets/ljspeech_mixture.json``): ``wavenet_vocoder/wavenet.py`` (``WaveNet``, with
``upsample_conv``: ConvTranspose2d (3, s) + ReLU per scale), ``modules.py``
(``ResidualConv1dGLU``) and ``mixture.py::sample_from_discretized_mix_logistic``.

Generation is incremental (cached dilated-convolution queues, :mod:`blocks.wavenet`): each step
costs one matrix-vector product per convolution. It is still ~22,050 sequential network passes
per second of audio, so ``max_samples`` refuses inputs that would take hours on a CPU.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from greenvoc.vocoders.base import VocoderError, VocoderSpec, WeightsSource
from greenvoc.vocoders.blocks.noise import item_generators, item_rand
from greenvoc.vocoders.blocks.wavenet import WaveNetStack
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.registry import register
from greenvoc.vocoders.release import mismatch, read_config

PAPER = ("van den Oord et al., WaveNet, arXiv 1609.03499 (2016); Shen et al., Tacotron 2, "
         "ICASSP 2018; code r9y9/wavenet_vocoder")
OFFICIAL_LAYOUT = "r9y9/wavenet_vocoder@2092a64"
AUX_CHUNK = 512  # samples of conditioning projected at once during generation


@dataclass(frozen=True)
class WavenetConfig:
    """``presets/ljspeech_mixture.json`` of r9y9/wavenet_vocoder @ 2092a64, plus sampling knobs.

    out_channels: 3 × mixtures (logit, mean, log-scale). log_scale_min: floor of the log-scales
    (log 1e-14). max_samples: longest output generated (T·hop); longer mels raise
    :class:`VocoderError` — raise it with :func:`dataclasses.replace` if you mean it. Each
    sample reads all 99 MB of weights once: ~40 ms per sample measured on a 2-core CPU at one
    thread, i.e. ~15 minutes per second of audio. seed: sampling seed, drawn per utterance.
    """

    out_channels: int = 30
    layers: int = 24
    stacks: int = 4
    residual_channels: int = 512
    gate_channels: int = 512
    skip_out_channels: int = 256
    kernel_size: int = 3
    cin_channels: int = 80
    upsample_scales: tuple[int, ...] = (4, 4, 4, 4)
    freq_axis_kernel_size: int = 3
    log_scale_min: float = math.log(1e-14)
    max_samples: int = 10 * 22050
    seed: int = 0

    @property
    def mixtures(self) -> int:
        return self.out_channels // 3


def sample_mixture(params: torch.Tensor, uniforms: torch.Tensor, log_scale_min: float
                   ) -> torch.Tensor:
    """Draw from a discretised mixture of logistics. params: (…, 3·K) = logits, means,
    log-scales; uniforms: (…, K + 1) in [0, 1) (K for the Gumbel-max choice, one for the
    logistic). Returns (…) in [-1, 1]."""
    k = params.shape[-1] // 3
    u = 1e-5 + (1.0 - 2e-5) * uniforms  # the official uniform_(1e-5, 1 − 1e-5)
    choice = (params[..., :k] - torch.log(-torch.log(u[..., :k]))).argmax(-1, keepdim=True)
    mean = params[..., k:2 * k].gather(-1, choice).squeeze(-1)
    log_scale = params[..., 2 * k:].gather(-1, choice).squeeze(-1).clamp(min=log_scale_min)
    v = u[..., k]
    x = mean + torch.exp(log_scale) * (torch.log(v) - torch.log(1.0 - v))
    return x.clamp(-1.0, 1.0)


class WavenetVocoder(nn.Module):
    """mel (B, cin_channels, T) → waveform (B, T·∏upsample_scales), sampled autoregressively."""

    def __init__(self, config: WavenetConfig) -> None:
        super().__init__()
        self.config = config
        self.hop = math.prod(config.upsample_scales)
        self.first_conv = nn.Conv1d(1, config.residual_channels, 1)
        self.stack = WaveNetStack(
            config.layers, config.stacks, config.residual_channels, config.gate_channels,
            config.skip_out_channels, config.cin_channels, config.kernel_size, causal=True,
            skip_merge="halving",
        )
        self.last_conv_layers = nn.ModuleDict({
            "1": nn.Conv1d(config.skip_out_channels, config.skip_out_channels, 1),
            "3": nn.Conv1d(config.skip_out_channels, config.out_channels, 1),
        })
        pad = (config.freq_axis_kernel_size - 1) // 2
        self.upsample_conv = nn.ModuleDict({
            str(2 * i): nn.ConvTranspose2d(1, 1, (config.freq_axis_kernel_size, s),
                                           stride=(1, s), padding=(pad, 0))
            for i, s in enumerate(config.upsample_scales)
        })

    def upsample(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, C, T) → (B, C, T·hop): a ConvTranspose2d + ReLU per scale."""
        c = mel.unsqueeze(1)
        for conv in self.upsample_conv.values():
            c = F.relu(conv(c))
        return c.squeeze(1)

    def _head(self, skips: torch.Tensor, dim: int) -> torch.Tensor:
        """ReLU → 1×1 → ReLU → 1×1 on the merged skips; channels on ``dim`` (1 or -1)."""
        convs = (self.last_conv_layers["1"], self.last_conv_layers["3"])
        x = skips
        for conv in convs:
            x = F.relu(x)
            x = conv(x) if dim == 1 else F.linear(x, conv.weight[:, :, 0], conv.bias)
        return x

    def teacher_forced(self, inputs: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """The whole-sequence pass used in training: inputs (B, 1, L) the previous samples
        (sample t sees inputs[..., :t+1]) → mixture parameters (B, 3K, L)."""
        skips = self.stack(self.first_conv(inputs), self.upsample(mel))
        return self._head(skips, dim=1)

    def generate(self, mel: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """Incremental sampling. mel (B, C, T); uniforms (B, T·hop, K + 1). → (B, T·hop)."""
        cfg = self.config
        c = self.upsample(mel)
        batch, length = c.shape[0], c.shape[-1]
        queues = self.stack.new_queues(batch, c)
        x = c.new_zeros(batch, 1)  # the official initial input: a zero sample
        out = c.new_empty(batch, length)
        w0, b0 = self.first_conv.weight[:, :, 0], self.first_conv.bias
        weights = self.stack.step_weights()
        for start in range(0, length, AUX_CHUNK):
            aux = self.stack.project_aux(c[:, :, start:start + AUX_CHUNK])
            for t in range(start, min(start + AUX_CHUNK, length)):
                aux_t = [None if a is None else a[:, t - start] for a in aux]
                skips, queues = self.stack.step(F.linear(x, w0, b0), aux_t, queues, weights)
                params = self._head(skips, dim=-1)
                out[:, t] = sample_mixture(params, uniforms[:, t], cfg.log_scale_min)
                x = out[:, t : t + 1]
        return out

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        length = mel.shape[-1] * self.hop
        if length > cfg.max_samples:
            raise VocoderError(
                f"wavenet-mol: {mel.shape[-1]} frames would be {length} samples generated one "
                f"at a time, over max_samples = {cfg.max_samples}; synthesize shorter clips or "
                "raise WavenetConfig.max_samples with dataclasses.replace"
            )
        gens = item_generators(mel.shape[0], cfg.seed)
        uniforms = item_rand(gens, (length, cfg.mixtures + 1), mel)
        return self.generate(mel, uniforms)


def official_to_greenvoc(key: str) -> str:
    """``conv_layers.i.{conv,conv1x1c,conv1x1_out,conv1x1_skip}`` →
    ``stack.layers.i.{conv,aux,out,skip}``; a DataParallel ``module.`` prefix is dropped."""
    key = key.removeprefix("module.")
    if key.startswith("conv_layers."):
        key = "stack.layers." + key[len("conv_layers."):]
        for old, new in ((".conv1x1c.", ".aux."), (".conv1x1_out.", ".out."),
                         (".conv1x1_skip.", ".skip.")):
            key = key.replace(old, new)
    return key


def load_official(module: WavenetVocoder, path: Path) -> None:
    """Read an r9y9/wavenet_vocoder checkpoint: ``{"state_dict": …, "optimizer": …,
    "global_step": …, "global_epoch": …}`` with weight norm on every convolution."""
    state = read_checkpoint(path, unwrap=("state_dict",))
    load_into(module, state, path, rename=official_to_greenvoc)


def hparams_path(path: Path) -> Path | None:
    """r9y9's hyper-parameters beside a checkpoint: ``<checkpoint stem>.json`` (as the README
    publishes ``20180510_mixture_lj_checkpoint_step000320000_ema.json``) or ``config.json``."""
    for candidate in (path.with_suffix(".json"), path.parent / "config.json"):
        if candidate.is_file():
            return candidate
    return None


#: hparams keys → WavenetConfig fields (r9y9's ``train.py::build_model``).
_HPARAMS = ("out_channels", "layers", "stacks", "residual_channels", "gate_channels",
            "skip_out_channels", "kernel_size", "cin_channels", "freq_axis_kernel_size",
            "log_scale_min")


def hparams_config(spec: VocoderSpec, path: Path) -> WavenetConfig:
    """The architecture r9y9's hyper-parameter json beside the checkpoint declares (``synthesis.py
    --preset=<json>``), checked against the entry: a mixture-of-logistics model (``input_type``
    "raw", no speaker conditioning) trained on this front-end. Without the json, the entry's."""
    found = hparams_path(Path(path))
    if found is None:
        return spec.config
    hp = read_config(found)
    mel = spec.mel_config
    wanted = {"input_type": "raw", "builder": "wavenet", "upsample_conditional_features": True,
              "sample_rate": mel.sample_rate, "fft_size": mel.n_fft, "hop_size": mel.hop_length,
              "num_mels": mel.n_mels, "fmin": mel.fmin, "fmax": mel.fmax_hz,
              "min_level_db": mel.min_level_db, "ref_level_db": -mel.log_offset,
              "rescaling": mel.peak_normalize is not None,
              "rescaling_max": mel.peak_normalize}
    for key, ours in wanted.items():
        if key in hp and hp[key] != ours and not (
                isinstance(ours, float) and float(hp[key]) == ours):
            mismatch(found, key, hp[key], ours, f"{spec.name} runs r9y9's MoL model on the "
                     f"{spec.mel_preset!r} front-end")
    if int(hp.get("gin_channels", -1)) > 0:
        mismatch(found, "gin_channels", hp["gin_channels"], -1,
                 "a speaker-conditioned model needs speaker ids greenvoc does not pass")
    config = dataclasses.replace(
        spec.config, **{k: hp[k] for k in _HPARAMS if k in hp},
        **({"upsample_scales": tuple(hp["upsample_scales"])} if "upsample_scales" in hp else {}))
    hop = math.prod(config.upsample_scales)
    if hop != spec.hop_length:
        mismatch(found, "upsample_scales (hop)", hop, spec.hop_length,
                 f"the {spec.mel_preset!r} front-end's hop must equal their product")
    if config.out_channels % 3:
        mismatch(found, "out_channels", config.out_channels, "a multiple of 3",
                 "a mixture of logistics has 3 outputs per component")
    return config


LJSPEECH_MOL = WavenetConfig()

# Parameters after weight-norm removal, counted from the preset and the 2092a64 modules:
# 24 layers × (512·512·3 + 512 + 80·512 + 512 + 256·512 + 512 + 256·256 + 256) = 24,619,008;
# first_conv 1,024; last 1×1 convs 65,792 + 7,710; four ConvTranspose2d (3, 4) 4·13 = 52
# → 24,693,586.
register(VocoderSpec(
    name="wavenet-mol",
    family="autoregressive",
    config=LJSPEECH_MOL,
    mel_preset="wavenet-r9y9",
    build=WavenetVocoder,
    weights=WeightsSource(
        "url", layout=OFFICIAL_LAYOUT,
        url="https://www.dropbox.com/s/zdbfprugbagfp2w/"
            "20180510_mixture_lj_checkpoint_step000320000_ema.pth?dl=1",
        sha256=None, licence="MIT (r9y9/wavenet_vocoder)",
        notes="LJSpeech MoL model of the r9y9/wavenet_vocoder README (Dropbox, no published "
              "checksum); its hyper-parameters 20180510_mixture_lj_checkpoint_step000320000_"
              "ema.json (the README's 'Hyper params URL', = presets/ljspeech_mixture.json @ "
              "2092a64) are fetched beside it and the architecture follows them",
        config_url="https://www.dropbox.com/s/0vsd7973w20eskz/"
                   "20180510_mixture_lj_checkpoint_step000320000_ema.json?dl=1",
    ),
    load=load_official,
    configure=hparams_config,
    delay_samples=1024 - 256,  # the lws pad before the signal (r9y9 ljspeech.py lws_pad_lr)
    published_params=24_693_586,
    paper=PAPER,
    description="WaveNet vocoder, 10-component mixture of logistics (r9y9 LJSpeech preset: 24 "
                "layers, 4 stacks, residual 512, gate 512, skip 256, transposed-conv upsampling "
                "×256), incremental sampling, at most config.max_samples samples (10 s). "
                "Front-end: r9y9's own mel, the 'wavenet-r9y9' preset (lws STFT 1024/256, 80 "
                "Slaney mels 125–7600 Hz, 20·log10 − 20 dB mapped from [−100, 0] dB to [0, 1], "
                "waveform rescaled to a 0.999 peak); lws frames T samples into 3 + ⌈T/256⌉ "
                "frames, so the output is (3 + ⌈T/256⌉)·256 samples that start 768 samples "
                "before the input, as in r9y9's preprocessing (lws_pad_lr).",
))
