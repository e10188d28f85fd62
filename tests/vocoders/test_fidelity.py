"""Fidelity: each published model's release, in its exact file layout, goes through
`greenvoc zoo pull` (from a local server) and `load_vocoder`, and synthesizes what the official
code synthesized from the same weights, mel and noise (golden files, ``fidelity/*.json``, made
by ``fidelity/make_golden.py`` running the official repositories; see docs/zoo.md).

The weights are small random ones drawn from a seed over the official model's own key/shape
manifest; where a release carries its config (ParallelWaveGAN's config.yml) the architecture is
narrowed there, and greenvoc must build what the config says.
"""

from __future__ import annotations

import pytest
import torch

from greenvoc.vocoders import get_spec, load_vocoder
from greenvoc.vocoders.blocks.alias_free import kaiser_sinc_filter
from greenvoc.vocoders.download import parse_source
from greenvoc.vocoders.pull import pull_checkpoint
from tests.vocoders.official_release import (
    input_mel,
    input_wave,
    load_golden,
    random_state,
    vocos_buffers,
    write_bigvgan,
    write_diffwave_weights,
    write_istftnet,
    write_melgan_neurips,
    write_pwg_release,
    write_univnet,
    write_vocos,
    write_waveglow,
    write_wavegrad_release,
    write_wavenet_r9y9,
    write_wavernn_zip,
)
from tests.vocoders.serve import serve

ATOL = 1e-4


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def release_file(name: str, golden: dict, folder) -> object:
    """The release file as its authors publish it, built from the golden file's manifest."""
    state = random_state(golden["manifest"], golden["weights_seed"], golden.get("weight_scales"))
    folder.mkdir(parents=True, exist_ok=True)
    if name == "pwg":
        return write_pwg_release(folder / "ljspeech_parallel_wavegan.v1", state,
                                 golden["config"], golden["stats"], steps=400000)
    if name == "diffwave":
        return write_diffwave_weights(folder / "diffwave-ljspeech-22kHz-1000578.pt", state,
                                      golden["params"], step=1000578)
    if name == "wavegrad-lj":
        return write_wavegrad_release(folder / "wavegrad", state, config={})
    if name == "wavernn-lj":
        return write_wavernn_zip(folder / "ljspeech.wavernn.mol.800k.zip", state)
    if name == "melgan":
        return write_melgan_neurips(folder / "linda_johnson.pt", state)
    if name == "mb-melgan":
        return write_pwg_release(folder / "ljspeech_multi_band_melgan.v2", state,
                                 golden["config"], golden["stats"], steps=1000000)
    if name == "waveglow":
        return write_waveglow(folder / "waveglow_256channels_universal_v5.pt", state,
                              golden["config"])
    if name == "wavenet-mol":
        return write_wavenet_r9y9(folder, state, golden["hparams"], golden["stem"])
    if name == "univnet-c32":
        return write_univnet(folder / "univnet_c32.pt", state, golden["hp_str"])
    if name.startswith("bigvgan"):
        # the resamplers' Kaiser filters are in the official state dict (values of the config)
        state |= {key: kaiser_sinc_filter(0.25, 0.3, 12) for key in golden["filters"]}
        return write_bigvgan(folder / name, state, golden["config"])
    if name == "vocos-mel-24k":
        buffers = vocos_buffers(golden["config"])
        assert sorted(buffers) == golden["buffers"]
        return write_vocos(folder / "vocos", state | buffers, golden["config"])
    raise AssertionError(name)


def pull_from(host, name: str, path) -> object:
    """``zoo pull NAME`` from the local host serving the release's files (the checkpoint and
    any config published beside it): the Hub entries at their own address (through
    huggingface_hub, the host standing in for huggingface.co), the others as a mirror URL."""
    for file in path.parent.iterdir():
        if file.is_file():
            (host.root / file.name).write_bytes(file.read_bytes())
    spec = get_spec(name)
    if parse_source(spec.weights.url or "").kind == "hf":
        return pull_checkpoint(spec, hf_endpoint=host.base)
    return pull_checkpoint(spec, url=f"{host.base}/files/{path.name}")


PULLED = ["pwg", "diffwave", "wavegrad-lj", "wavernn-lj", "melgan", "mb-melgan", "waveglow",
          "wavenet-mol", "univnet-c32", "bigvgan-base-22k", "bigvgan-v2-22k",
          "vocos-mel-24k"]


@pytest.mark.parametrize("name", PULLED)
def test_published_release_vocodes_as_the_official_code(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))
    golden = load_golden(name)
    path = release_file(name, golden, tmp_path / "release")
    with serve(tmp_path / "served") as host:
        pulled = pull_from(host, name, path)
    voc = load_vocoder(name)  # from the cache, as `greenvoc vocode NAME` loads it
    assert voc.has_weights and pulled.path.exists()
    mel = input_mel(golden["mel"])
    expected = torch.tensor(golden["golden"], dtype=torch.float32)
    got = voc.synthesize(mel)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_trained_generator_given_with_weights_vocodes_as_the_official_code(tmp_path):
    """iSTFTNet publishes no checkpoint: a generator trained with the official code (its
    ``g_*`` file and the config.json beside it) goes in with ``--weights``."""
    golden = load_golden("istftnet")
    state = random_state(golden["manifest"], golden["weights_seed"])
    path = write_istftnet(tmp_path / "cp_istftnet", state, golden["config"])
    voc = load_vocoder("istftnet", weights=path)  # `greenvoc vocode istftnet --weights PATH`
    expected = torch.tensor(golden["golden"], dtype=torch.float32)
    got = voc.synthesize(input_mel(golden["mel"]))
    assert voc.has_weights and got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["melgan", "waveglow", "univnet-c32", "bigvgan-base-22k",
                                  "bigvgan-v2-22k"])
def test_entry_front_end_equals_the_official_mel(name):
    """``Vocoder.mel`` (what `vocode` and `bench` feed the model) against the official code's
    own mel of the same waveform."""
    golden = load_golden(name)["front_end"]
    wave = input_wave(golden["wave"]) * golden["wave"].get("gain", 1.0)
    expected = torch.tensor(golden["mel"], dtype=torch.float32)
    got = load_vocoder(name).mel(wave)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)
