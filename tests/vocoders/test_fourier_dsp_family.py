"""Fourier-domain (Vocos, iSTFTNet), WaveGrad, WaveRNN and the DSP baselines (Griffin-Lim,
WORLD): parameter counts, shapes, batch consistency, official checkpoint layouts."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from greenvoc.audio.io import load_audio
from greenvoc.vocoders import CheckpointError, VocoderError, get_spec, load_vocoder
from greenvoc.vocoders.blocks.istft import ISTFT
from greenvoc.vocoders.families.wavernn import Wavernn, WavernnConfig, fold, unfold

FAMILIES = {
    "griffin-lim": "dsp",
    "world": "dsp",
    "vocos-mel-24k": "fourier",
    "istftnet": "fourier",
    "wavegrad": "diffusion",
    "wavegrad-25": "diffusion",
    "wavernn": "autoregressive",
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # two threads on a shared 2-core runner are slower than one for these small tensors
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _speech_22k(seconds: float) -> np.ndarray:
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    audio = load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=22050)
    return audio.samples[4000:4000 + int(seconds * 22050)].astype(np.float32)


def _weight_norm_pairs(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every conv weight as the official checkpoints store it: ``weight_g``/``weight_v``."""
    out = {}
    for key, value in state.items():
        if key.endswith(".weight") and value.dim() == 3:
            prefix = key[: -len(".weight")]
            out[f"{prefix}.weight_g"] = value.flatten(1).norm(dim=1).reshape(-1, 1, 1)
            out[f"{prefix}.weight_v"] = value * 1.5  # any positive multiple: g fixes the norm
        else:
            out[key] = value
    return out


def _randomised(module: torch.nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    """The module's weights, each perturbed by ±10 % (different from the seeded init, same
    scale, so that exp-magnitude heads stay finite)."""
    gen = torch.Generator().manual_seed(seed)
    return {k: v * (1 + 0.1 * torch.randn(v.shape, generator=gen)) if v.is_floating_point()
            else v for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_registered_with_family_and_published_parameter_count(name):
    spec = get_spec(name)
    assert spec.family == FAMILIES[name]
    built = spec.build(spec.config)
    params = sum(p.numel() for p in built.parameters()) if isinstance(built, torch.nn.Module) else 0
    assert spec.published_params is not None
    assert abs(params - spec.published_params) <= 0.02 * max(spec.published_params, 1)


# ------------------------------------------------------------------------------ iSTFT block


def test_istft_same_padding_is_the_centred_inverse_shifted_and_exact_length():
    gen = torch.Generator().manual_seed(0)
    spec = torch.randn(2, 513, 12, generator=gen, dtype=torch.complex64)
    same, center = ISTFT(1024, 256, "same")(spec), ISTFT(1024, 256, "center")(spec)
    assert same.shape == (2, 12 * 256) and center.shape == (2, 11 * 256)
    # "same" trims (1024 − 256)/2 = 384 samples, "center" 512: 128 apart
    torch.testing.assert_close(same[:, 128 + 512:-1024], center[:, 512:-1024 + 128],
                               atol=1e-5, rtol=1e-4)


def test_istft_same_padding_equals_a_plain_overlap_add():
    gen = torch.Generator().manual_seed(0)
    spec = torch.randn(1, 9, 7, generator=gen, dtype=torch.complex128)
    n_fft, hop = 16, 4
    window = torch.hann_window(n_fft, dtype=torch.float64).numpy()
    frames = np.fft.irfft(spec[0].numpy(), n=n_fft, axis=0) * window[:, None]
    total = (7 - 1) * hop + n_fft
    audio, envelope = np.zeros(total), np.zeros(total)
    for f in range(7):
        audio[f * hop:f * hop + n_fft] += frames[:, f]
        envelope[f * hop:f * hop + n_fft] += window**2
    trim = (n_fft - hop) // 2
    expected = audio[trim:total - trim] / envelope[trim:total - trim]
    head = ISTFT(n_fft, hop, "same").double()
    np.testing.assert_allclose(head(spec)[0].numpy(), expected, atol=1e-6)  # f32 window


def test_istft_center_inverts_torch_stft():
    x = torch.randn(1, 4096)
    window = torch.hann_window(16)
    spec = torch.stft(x, 16, 4, window=window, center=True, return_complex=True)
    torch.testing.assert_close(ISTFT(16, 4, "center")(spec), x, atol=1e-5, rtol=1e-5)


# -------------------------------------------------------------------------------- DSP


def test_griffin_lim_reconstructs_the_mel_of_speech():
    voc = load_vocoder("griffin-lim")
    assert voc.has_weights and voc.params() == 0
    mel = voc.mel(_speech_22k(0.5))
    audio = voc.synthesize(mel)
    assert audio.shape == (mel.shape[-1] * 256,) and torch.isfinite(audio).all()
    again = voc.mel(audio.numpy())
    frames = min(again.shape[-1], mel.shape[-1]) - 2
    loud = mel[:, :frames] > -6  # compare where there is energy, not at the 1e-5 floor
    assert float((again[:, :frames] - mel[:, :frames])[loud].abs().mean()) < 0.6


def test_griffin_lim_phase_retrieval_equals_librosa():
    import librosa

    rng = np.random.default_rng(0)
    magnitude = np.abs(rng.standard_normal((513, 12)))
    expected = librosa.griffinlim(magnitude, n_iter=32, hop_length=256, n_fft=1024,
                                  momentum=0.99, init=None, length=11 * 256)
    module = load_vocoder("griffin-lim").module.double()
    ours = module.phase_retrieval(torch.from_numpy(magnitude)[None],
                                  torch.ones(1, 513, 12, dtype=torch.complex128), 11 * 256)
    np.testing.assert_allclose(ours[0].numpy(), expected, atol=1e-4)


def test_griffin_lim_batch_consistency_and_bad_mel():
    voc = load_vocoder("griffin-lim")
    mel = voc.mel(np.stack([_speech_22k(0.2), _speech_22k(0.2)[::-1].copy()]))
    both = voc.synthesize(mel)
    torch.testing.assert_close(both[1], voc.synthesize(mel[1]), atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match="'hifigan' front-end"):
        voc.synthesize(torch.randn(1, 100, 12))


def test_world_copy_synthesis_keeps_length_and_spectrum():
    voc = load_vocoder("world")
    assert voc.spec.uses_waveform and voc.has_weights and voc.params() == 0
    x = _speech_22k(0.4)
    y = voc.copy_synthesize(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    mel_x, mel_y = voc.mel(x), voc.mel(y.numpy())
    loud = mel_x > -6
    assert float((mel_x - mel_y)[loud].abs().mean()) < 1.0
    batch = voc.copy_synthesize(np.stack([x, x]))
    torch.testing.assert_close(batch[0], y)
    with pytest.raises(VocoderError, match="needs the waveform"):
        voc.synthesize(mel_x)


# -------------------------------------------------------------------------------- Vocos


def test_vocos_shape_batch_and_bad_mel():
    voc = load_vocoder("vocos-mel-24k")
    mel = torch.randn(2, 100, 20) - 3
    both = voc.synthesize(mel)
    assert both.shape == (2, 19 * 256)  # centred iSTFT, as the official config.yaml
    torch.testing.assert_close(both[1], voc.synthesize(mel[1]), atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match="'vocos' front-end"):
        voc.synthesize(torch.randn(1, 80, 20))


def test_vocos_copy_synthesis_keeps_the_length():
    voc = load_vocoder("vocos-mel-24k")
    # 1 + 24000 // 256 centred frames → (24000 // 256) · 256 samples, as the official model
    assert voc.copy_synthesize(np.zeros(24000, dtype=np.float32)).shape == (24000 // 256 * 256,)


def test_vocos_reads_the_official_layout(tmp_path):
    voc = load_vocoder("vocos-mel-24k")
    state = _randomised(voc.module)
    state["head.istft.window"] = torch.hann_window(1024)
    official = dict(state)
    # the official file also holds the feature extractor's buffers
    official["feature_extractor.mel_spec.spectrogram.window"] = torch.hann_window(1024)
    official["feature_extractor.mel_spec.mel_scale.fb"] = torch.rand(513, 100)
    assert {"backbone.embed.weight", "backbone.convnext.7.gamma", "backbone.final_layer_norm.bias",
            "head.out.weight", "head.istft.window"} <= set(official)
    path = tmp_path / "pytorch_model.bin"
    torch.save(official, path)
    loaded = load_vocoder("vocos-mel-24k", weights=path)
    assert loaded.has_weights
    voc.module.load_state_dict(state)
    mel = torch.randn(1, 100, 10) - 3
    torch.testing.assert_close(loaded.synthesize(mel), voc.synthesize(mel))


# ------------------------------------------------------------------------------ iSTFTNet


def test_istftnet_shape_batch_and_bad_mel():
    voc = load_vocoder("istftnet")
    mel = torch.randn(2, 80, 10) - 5
    both = voc.synthesize(mel)
    assert both.shape == (2, 10 * 256)
    torch.testing.assert_close(both[0], voc.synthesize(mel[0]), atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match="'hifigan' front-end"):
        voc.synthesize(torch.randn(1, 100, 10))


def test_istftnet_reads_the_official_layout(tmp_path):
    voc = load_vocoder("istftnet")
    state = _randomised(voc.module)

    def official(key: str) -> str:
        m = re.match(r"mrfs\.(\d+)\.blocks\.(\d+)\.(.*)", key)
        return f"resblocks.{int(m.group(1)) * 3 + int(m.group(2))}.{m.group(3)}" if m else key

    path = tmp_path / "g_00100000"
    torch.save({"generator": _weight_norm_pairs({official(k): v for k, v in state.items()})},
               path)
    loaded = load_vocoder("istftnet", weights=path)
    voc.module.load_state_dict(state)
    mel = torch.randn(1, 80, 6) - 5
    torch.testing.assert_close(loaded.synthesize(mel), voc.synthesize(mel), atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------------------ WaveGrad


def test_wavegrad_shape_batch_determinism_and_bad_mel():
    voc = load_vocoder("wavegrad")
    mel = torch.randn(2, 80, 2) - 5
    both = voc.synthesize(mel)
    # as the official sample(): ŷ0 is clipped at every step, the last posterior mean is not
    assert both.shape == (2, 2 * 256) and torch.isfinite(both).all()
    torch.testing.assert_close(both[1], voc.synthesize(mel[1]), atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match="'hifigan' front-end"):
        voc.synthesize(torch.randn(1, 100, 2))


def _ivanvovk_key(key: str) -> str:
    """greenvoc → ivanvovk/WaveGrad key (the inverse of the loader's mapping)."""
    key = key.removeprefix("net.")
    table = [
        (r"^mel_conv\.", "ublock_preconv.conv1d."),
        (r"^out_conv\.", "ublock_postconv.conv1d."),
        (r"^wave_conv\.", "dblock_preconv.conv1d."),
        (r"^ublocks\.(\d+)\.up_conv\.", r"ublocks.\1.first_block_main_branch.upsampling.2.conv1d."),
        (r"^ublocks\.(\d+)\.film_convs\.0\.",
         r"ublocks.\1.first_block_main_branch.modulation.convolution.conv1d."),
        (r"^ublocks\.(\d+)\.skip\.", r"ublocks.\1.first_block_residual_branch.0.conv1d."),
        (r"^ublocks\.(\d+)\.film_convs\.1\.",
         r"ublocks.\1.second_block_main_branch.modulation_0.convolution.conv1d."),
        (r"^ublocks\.(\d+)\.film_convs\.2\.",
         r"ublocks.\1.second_block_main_branch.modulation_1.convolution.conv1d."),
        (r"^dblocks\.(\d+)\.skip\.", r"dblocks.\1.residual_branch.0.conv1d."),
        (r"^films\.(\d+)\.signal_conv\.", r"films.\1.signal_conv.0.conv1d."),
        (r"^films\.(\d+)\.(scale|shift)_conv\.", r"films.\1.\2_conv.conv1d."),
    ]
    m = re.match(r"^dblocks\.(\d+)\.convs\.(\d+)\.(.*)", key)
    if m:
        return f"nn.dblocks.{m.group(1)}.main_branch.{int(m.group(2)) + 1}.convolution.conv1d." \
               f"{m.group(3)}"
    for pattern, repl in table:
        new, n = re.subn(pattern, repl, key)
        if n:
            return f"nn.{new}"
    raise AssertionError(f"unmapped key {key}")


def test_wavegrad_reads_the_ivanvovk_layout(tmp_path):
    voc = load_vocoder("wavegrad")
    state = _randomised(voc.module)
    official = {_ivanvovk_key(k): v for k, v in state.items()}
    assert "nn.films.0.signal_conv.0.conv1d.weight" in official
    official["betas"] = torch.linspace(1e-6, 0.01, 1000)  # diffusion buffers: dropped
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": official}, path)
    # the factors carry no weights: without its config.json the file is taken for the
    # published hop-300 release, which the hop-256 entry refuses, naming both hops
    with pytest.raises(CheckpointError, match=r"hop 300 .*wavegrad is hop 256"):
        load_vocoder("wavegrad", weights=path)
    (tmp_path / "config.json").write_text(json.dumps({
        "model_config": {"factors": [4, 4, 4, 2, 2]},
        "data_config": {"sample_rate": 22050, "hop_length": 256, "n_mels": 80}}))
    loaded = load_vocoder("wavegrad", weights=path)
    voc.module.load_state_dict(state)
    mel = torch.randn(1, 80, 1) - 5
    torch.testing.assert_close(loaded.synthesize(mel), voc.synthesize(mel))


# ------------------------------------------------------------------------------- WaveRNN

SMALL_RNN = WavernnConfig(rnn_dims=32, fc_dims=32, compute_dims=16, res_out_dims=16,
                          res_blocks=2, target_samples=300, overlap_samples=40)


def test_wavernn_registered_model_runs_a_short_mel():
    voc = load_vocoder("wavernn")
    audio = voc.synthesize(torch.randn(80, 2) - 5)
    assert audio.shape == (2 * 256,) and torch.isfinite(audio).all() and audio.abs().max() <= 1
    with pytest.raises(VocoderError, match="'hifigan' front-end"):
        voc.synthesize(torch.randn(1, 100, 2))


@pytest.mark.parametrize("mode", ["MOL", "RAW"])
def test_wavernn_folded_batch_matches_single_calls(mode):
    torch.manual_seed(0)
    model = Wavernn(WavernnConfig(**{**SMALL_RNN.__dict__, "mode": mode})).eval()
    mel = torch.randn(2, 80, 6) - 5  # 1,536 samples → 5 folded segments of ≤ 380
    with torch.inference_mode():
        both = model(mel)
        one = model(mel[1:])
    assert both.shape == (2, 6 * 256) and torch.isfinite(both).all()
    torch.testing.assert_close(both[1:], one, atol=1e-5, rtol=0)


def test_fold_then_unfold_restores_the_signal_outside_the_crossfades():
    x = torch.randn(2, 1000, 3)
    segments = fold(x, target=200, overlap=20)
    assert segments.shape[1] <= 200 + 2 * 20 and segments.shape[0] % 2 == 0
    step = segments.shape[1] - 20
    restored = unfold(segments[..., 0], batch=2, length=1000, overlap=20)
    keep = torch.ones(1000, dtype=torch.bool)
    for i in range(1, segments.shape[0] // 2):
        keep[i * step:i * step + 20] = False
    torch.testing.assert_close(restored[:, keep], x[:, keep, 0])


def test_wavernn_reads_a_fatchord_state_dict(tmp_path):
    voc = load_vocoder("wavernn")
    state = _randomised(voc.module)
    assert {"upsample.up_layers.1.weight", "upsample.resnet.layers.9.batch_norm2.running_var",
            "I.weight", "rnn1.weight_hh_l0", "fc3.bias", "step"} <= set(state)
    path = tmp_path / "latest_weights.pyt"
    torch.save(state, path)
    loaded = load_vocoder("wavernn", weights=path)
    for key, value in loaded.module.state_dict().items():
        torch.testing.assert_close(value, state[key])
