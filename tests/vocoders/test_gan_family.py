"""GAN upsamplers: MelGAN, Multi-band MelGAN, BigVGAN (v1 base, v2), UnivNet-c32.

Parameter counts, synthesis contracts, official checkpoint layouts (written by the tests from
the module's own weights, renamed to the official keys with weight-norm pairs), and the
signal-processing blocks (PQMF, anti-aliased activation, location-variable convolution).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tarfile

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from greenvoc.vocoders import CheckpointError, VocoderError, get_spec, load_vocoder
from greenvoc.vocoders.blocks.alias_free import (
    AntiAliasedActivation,
    Snake,
    SnakeBeta,
    kaiser_sinc_filter,
)
from greenvoc.vocoders.blocks.lvc import location_variable_conv
from greenvoc.vocoders.blocks.pqmf import PQMF
from greenvoc.vocoders.families.bigvgan import BigvganGenerator

NAMES = ["melgan", "mb-melgan", "bigvgan-base-22k", "bigvgan-v2-22k", "univnet-c32"]
PRESETS = {
    "melgan": "melgan",
    "mb-melgan": "pwg",
    "bigvgan-base-22k": "bigvgan-22k-80",
    "bigvgan-v2-22k": "bigvgan-v2-22k-80",
    "univnet-c32": "bigvgan-24k-100",
}
# Round figures the papers/READMEs print (M params); the exact counts must be within 2 %.
# (No figure is printed for ParallelWaveGAN's multi_band_melgan.v2.)
PRINTED_M = {"melgan": 4.26, "bigvgan-base-22k": 14.0, "bigvgan-v2-22k": 112.0,
             "univnet-c32": 14.86}
FRAMES = {"bigvgan-base-22k": 4, "bigvgan-v2-22k": 2}  # the rest: 6
# UnivNet's kernel predictor (a 64 → 24,576-channel conv) gives fp32 results that differ by a
# rounding step between B=1 and B=2 (oneDNN picks its blocking by shape); the random-init
# kernels (|k| ≈ 10) amplify that through the location-variable convs to ~1e-5.
BATCH_ATOL = {"univnet-c32": 5e-5}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Many small convolutions: on a shared 2-core box, two OpenMP threads spend most of their
    time waiting for each other (10× slower measured under load); one thread is steady."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def vocoders(one_thread):
    return {name: load_vocoder(name) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_spec_family_preset_and_parameter_count(name, vocoders):
    spec = get_spec(name)
    assert spec.family == "gan"
    assert spec.mel_preset == PRESETS[name]
    assert spec.weights.kind == "url" and spec.weights.url and spec.weights.layout
    voc = vocoders[name]
    assert not voc.has_weights
    assert voc.params() == spec.published_params  # counted from the official architecture
    if name in PRINTED_M:
        assert abs(voc.params() / 1e6 - PRINTED_M[name]) / PRINTED_M[name] < 0.02


@pytest.mark.parametrize("name", NAMES)
def test_synthesis_shape_batch_consistency_and_bad_mel(name, vocoders):
    voc = vocoders[name]
    n_mels, frames = voc.mel_config.n_mels, FRAMES.get(name, 6)
    torch.manual_seed(1)
    mel = torch.randn(2, n_mels, frames) - 4
    both = voc.synthesize(mel)
    assert both.shape == (2, frames * voc.hop_length)
    assert torch.isfinite(both).all() and both.abs().max() <= 1.0
    torch.testing.assert_close(both[1], voc.synthesize(mel[1]), atol=BATCH_ATOL.get(name, 1e-5),
                               rtol=0)
    with pytest.raises(VocoderError, match=f"'{PRESETS[name]}' front-end"):
        voc.synthesize(torch.randn(1, n_mels + 1, frames))


# --- official checkpoint layouts -------------------------------------------------------------

def _weight_norm_pairs(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every conv ``X.weight`` → ``X.weight_g``/``X.weight_v`` (torch weight_norm, dim 0)."""
    out = {}
    for key, w in state.items():
        if key.endswith(".weight"):
            stem = key[: -len(".weight")]
            out[f"{stem}.weight_g"] = w.norm(dim=list(range(1, w.dim())), keepdim=True)
            out[f"{stem}.weight_v"] = 2.5 * w  # the direction is all that counts
        else:
            out[key] = w
    return out


def _melgan_official(key: str, root: str, names: tuple[str, str, str], stacks: int) -> str:
    per_stage = 2 + stacks
    if key.startswith("conv_pre."):
        return key.replace("conv_pre", f"{root}.1", 1)
    if m := re.match(r"ups\.(\d+)\.(.*)", key):
        return f"{root}.{2 + int(m[1]) * per_stage + 1}.{m[2]}"
    if m := re.match(r"stacks\.(\d+)\.(\d+)\.(dilated|pointwise|shortcut)\.(.*)", key):
        sub = dict(zip(("dilated", "pointwise", "shortcut"), names, strict=True))[m[3]]
        return f"{root}.{2 + int(m[1]) * per_stage + 2 + int(m[2])}.{sub}.{m[4]}"
    n_stages = 4 if root == "model" else 3
    return key.replace("conv_post", f"{root}.{2 + n_stages * per_stage + 2}", 1)


def _univnet_official(key: str) -> str:
    for pattern, repl in (
        (r"^conv_post\.", "conv_post.1."),
        (r"\.input_conv\.", ".input_conv.0."),
        (r"\.residual_convs\.(\d+)\.1\.", r".residual_convs.\1.3."),
        (r"\.residual_convs\.(\d+)\.0\.", r".residual_convs.\1.1."),
        (r"\.convt_pre\.", ".convt_pre.1."),
        (r"\.conv_blocks\.(\d+)\.", r".conv_blocks.\1.1."),
    ):
        key = re.sub(pattern, repl, key)
    return "module." + key  # a DistributedDataParallel save, which the loader strips


def _bigvgan_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, w in state.items():
        if key.endswith((".alpha", ".beta")):
            out[key] = w
            continue
        out[re.sub(r"^ups\.(\d+)\.", r"ups.\1.0.", key)] = w
    # the official state dict also holds the resamplers' filters: ignored at load
    out["activation_post.upsample.filter"] = torch.zeros(1, 1, 12)
    out["activation_post.downsample.lowpass.filter"] = torch.zeros(1, 1, 12)
    return out


def _check_reload(name, path, mel, expected):
    loaded = load_vocoder(name, weights=path, seed=99)
    assert loaded.has_weights
    torch.testing.assert_close(loaded.synthesize(mel), expected, atol=1e-5, rtol=0)


def test_melgan_neurips_layout(tmp_path, vocoders):
    voc = vocoders["melgan"]
    state = {_melgan_official(k, "model", ("block.2", "block.4", "shortcut"), 3): v
             for k, v in voc.module.state_dict().items()}
    assert "model.24.weight" in state and "model.6.block.2.bias" in state
    torch.save(_weight_norm_pairs(state), tmp_path / "linda_johnson.pt")
    mel = torch.randn(80, 5) - 4
    _check_reload("melgan", tmp_path / "linda_johnson.pt", mel, voc.synthesize(mel))


def test_melgan_front_end_is_mel2wav_log10_mel(vocoders):
    """mel2wav's Audio2Mel: HiFi-GAN's framing up to sr/2, but log10 and no 1e-9 under the
    root (which lifted quiet frames by up to 0.009 when the bigvgan-v2 preset stood in)."""
    melgan, bigvgan = vocoders["melgan"].mel_config, vocoders["bigvgan-v2-22k"].mel_config
    assert (melgan.log_base, melgan.magnitude_eps) == ("10", 0.0)
    assert dataclasses.replace(melgan, log_base="e", magnitude_eps=1e-9) == bigvgan


def test_mb_melgan_pqmf_follows_the_release_version():
    """utils.load_model: releases of version <= 0.4.2 get cutoff 0.15, later ones PQMF's own
    default 0.142, and pqmf_params overrides either."""
    from greenvoc.vocoders.families.melgan import at_most_0_4_2, release_pqmf

    assert release_pqmf({"version": "0.4.2"})["cutoff_ratio"] == 0.15
    assert release_pqmf({})["cutoff_ratio"] == 0.15  # no version: "0.1.0"
    assert release_pqmf({"version": "0.4.3"})["cutoff_ratio"] == 0.142
    assert release_pqmf({"version": "0.6.2a"})["cutoff_ratio"] == 0.142
    assert release_pqmf({"version": "0.5.0", "pqmf_params": {"cutoff_ratio": 0.13,
                                                             "taps": 64}})["taps"] == 64
    assert [at_most_0_4_2(v) for v in ("0.4", "0.4.2a", "0.10.0", "0.3.9")] == [
        True, False, False, True]


def test_parallel_wavegan_layout_with_stats_and_release_archive(tmp_path, vocoders):
    voc = vocoders["mb-melgan"]
    state = {_melgan_official(k, "melgan", ("stack.2", "stack.4", "skip_layer"), 4): v
             for k, v in voc.module.state_dict().items()}
    assert "melgan.22.weight" in state and "melgan.4.skip_layer.weight" in state
    release = tmp_path / "ljspeech_multi_band_melgan.v2"
    release.mkdir()
    ckpt = release / "checkpoint-1000000steps.pkl"
    torch.save({"model": {"generator": _weight_norm_pairs(state), "discriminator": {}},
                "steps": 1000000}, ckpt)
    rng = np.random.default_rng(0)
    mean, scale = rng.normal(-4, 1, 80), rng.uniform(0.5, 2, 80)
    np.save(release / "stats.npy", np.stack([mean, scale]))
    mel = torch.randn(80, 5) * 0.5 - 4
    expected = voc.synthesize((mel - torch.tensor(mean, dtype=torch.float32)[:, None])
                              / torch.tensor(scale, dtype=torch.float32)[:, None])
    _check_reload("mb-melgan", ckpt, mel, expected)
    archive = tmp_path / "uc"  # the cache's name for a Google Drive download
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(release, arcname=release.name)
    _check_reload("mb-melgan", archive, mel, expected)


def test_bigvgan_layout(tmp_path):
    # the loader does not depend on the width: a narrow BigVGAN keeps this test fast
    config = dataclasses.replace(get_spec("bigvgan-base-22k").config, upsample_initial_channel=32)
    torch.manual_seed(0)
    ours = BigvganGenerator(config).eval()
    with torch.no_grad():  # non-trivial snake parameters, so that skipping them would show
        for key, p in ours.named_parameters():
            if key.endswith((".alpha", ".beta")):
                p.uniform_(-0.5, 0.5)
    state = _bigvgan_official(ours.state_dict())
    assert "ups.3.0.weight" in state and "resblocks.11.activations.5.act.beta" in state
    torch.save({"generator": _weight_norm_pairs(state)}, tmp_path / "bigvgan_generator.pt")
    torch.manual_seed(1)
    loaded = BigvganGenerator(config).eval()
    get_spec("bigvgan-base-22k").load(loaded, tmp_path / "bigvgan_generator.pt")
    mel = torch.randn(1, 80, 4) - 4
    with torch.inference_mode():
        torch.testing.assert_close(loaded(mel), ours(mel), atol=1e-5, rtol=0)


C32_HP = """audio:
  n_mel_channels: 100
  filter_length: 1024
  hop_length: 256 # WARNING: this can't be changed.
  win_length: 1024
  sampling_rate: 24000
  mel_fmin: 0.0
  mel_fmax: 12000.0
gen:
  noise_dim: 64
  channel_size: 32
  dilations: [1, 3, 9, 27]
  strides: [8, 8, 4]
  lReLU_slope: 0.2
  kpnet_conv_size: 3
"""


def test_univnet_layout(tmp_path, vocoders):
    voc = vocoders["univnet-c32"]
    state = {_univnet_official(k): v for k, v in voc.module.state_dict().items()}
    assert "module.res_stack.2.kernel_predictor.residual_convs.2.3.weight" in state
    torch.save({"model_g": _weight_norm_pairs(state), "hp_str": C32_HP, "epoch": 1},
               tmp_path / "c32.pt")
    mel = torch.randn(100, 4) - 4
    _check_reload("univnet-c32", tmp_path / "c32.pt", mel, voc.synthesize(mel))


def test_univnet_hp_str_of_another_front_end_or_no_yaml_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"model_g": {}, "hp_str": C32_HP.replace("24000", "22050")}, path)
    with pytest.raises(CheckpointError, match=r"hp_str audio.sampling_rate is 22050 but this "
                       r"entry's is 24000"):
        load_vocoder("univnet-c32", weights=path)
    torch.save({"model_g": {}, "hp_str": "gen: ..."}, path)
    with pytest.raises(CheckpointError, match="no 'gen' and 'audio' sections"):
        load_vocoder("univnet-c32", weights=path)


def test_a_checkpoint_of_another_model_is_explained(tmp_path, vocoders):
    torch.save(vocoders["melgan"].module.state_dict(), tmp_path / "melgan.pt")
    torch.save({"generator": vocoders["melgan"].module.state_dict()}, tmp_path / "wrapped.pt")
    with pytest.raises(CheckpointError, match=r"missing keys: activation_post.*another arch"):
        load_vocoder("bigvgan-base-22k", weights=tmp_path / "wrapped.pt")
    with pytest.raises(CheckpointError, match="'model_g'"):
        load_vocoder("univnet-c32", weights=tmp_path / "melgan.pt")


# --- blocks ---------------------------------------------------------------------------------

def test_pqmf_reconstructs_and_splits_into_bands():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 4096)
    # kan-bayashi's later default (cutoff 0.142) reconstructs near perfectly; 0.15, which the
    # released MB-MelGAN checkpoints use, less so (about 19 dB) — both are the official banks
    for cutoff, min_snr_db in ((0.142, 50.0), (0.15, 15.0)):
        pqmf = PQMF(cutoff_ratio=cutoff)
        bands = pqmf.analysis(x)
        assert bands.shape == (1, 4, 1024)
        err = (pqmf.synthesis(bands) - x)[..., 64:-64]
        snr = 10 * math.log10(float(x.pow(2).mean() / err.pow(2).mean()))
        assert snr > min_snr_db
    tone = torch.sin(2 * math.pi * 0.3 * torch.arange(4096.0)).view(1, 1, -1)  # band 2: .25-.375
    energy = PQMF().analysis(tone)[..., 32:-32].pow(2).mean(-1).flatten()
    assert int(energy.argmax()) == 2


def test_anti_aliased_activation_passes_low_frequencies_and_snake_formulas():
    flt = kaiser_sinc_filter(0.25, 0.3, 12)
    assert flt.shape == (1, 1, 12)
    assert float(flt.sum()) == pytest.approx(1.0)
    torch.testing.assert_close(flt.flip(-1), flt)
    sine = torch.sin(2 * math.pi * 0.02 * torch.arange(1024.0)).view(1, 1, -1)
    identity = AntiAliasedActivation(torch.nn.Identity())
    assert float((identity(sine) - sine)[..., 32:-32].abs().max()) < 1e-3
    x = torch.randn(2, 3, 7)
    snake, snake_beta = Snake(3, logscale=True), SnakeBeta(3, logscale=False)
    with torch.no_grad():
        snake.alpha.copy_(torch.tensor([0.0, 0.5, -0.5]))
        snake_beta.beta.fill_(2.0)
    a = torch.tensor([0.0, 0.5, -0.5]).exp().view(1, 3, 1)
    torch.testing.assert_close(snake(x), x + torch.sin(a * x) ** 2 / a, atol=1e-6, rtol=0)
    torch.testing.assert_close(snake_beta(x), x + torch.sin(x) ** 2 / 2, atol=1e-6, rtol=0)


def test_location_variable_conv_with_one_kernel_is_an_ordinary_conv():
    torch.manual_seed(0)
    x, weight, bias = torch.randn(2, 3, 40), torch.randn(5, 3, 3), torch.randn(5)
    frames, hop = 5, 8
    kernel = weight.permute(1, 0, 2)[None, ..., None].expand(2, 3, 5, 3, frames)
    out = location_variable_conv(x, kernel, bias[None, :, None].expand(2, 5, frames), hop)
    torch.testing.assert_close(out, F.conv1d(x, weight, bias, padding=1), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="LVC"):
        location_variable_conv(x[..., :-1], kernel, bias[None, :, None].expand(2, 5, 5), hop)


def test_univnet_noise_is_fixed_by_its_seed(vocoders):
    voc = vocoders["univnet-c32"]
    mel = torch.randn(100, 5) - 4
    torch.testing.assert_close(voc.synthesize(mel), voc.synthesize(mel))
    other = voc.module.noise(5, 1, torch.device("cpu"))
    assert other.shape == (1, 64, 5)
