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
from greenvoc.vocoders.pull import pull_checkpoint
from tests.vocoders.official_release import (
    input_mel,
    load_golden,
    random_state,
    write_diffwave_weights,
    write_pwg_release,
    write_wavegrad_release,
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
    state = random_state(golden["manifest"], golden["weights_seed"])
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
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["pwg", "diffwave", "wavegrad-lj", "wavernn-lj"])
def test_published_release_vocodes_as_the_official_code(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))
    golden = load_golden(name)
    path = release_file(name, golden, tmp_path / "release")
    with serve(tmp_path / "served") as host:
        (host.root / path.name).write_bytes(path.read_bytes())
        pulled = pull_checkpoint(get_spec(name), url=f"{host.base}/files/{path.name}")
    voc = load_vocoder(name)  # from the cache, as `greenvoc vocode NAME` loads it
    assert voc.has_weights and pulled.path.exists()
    mel = input_mel(golden["mel"])
    expected = torch.tensor(golden["golden"], dtype=torch.float32)
    got = voc.synthesize(mel)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)
