"""`greenvoc zoo pull` against a local server that answers as the real hosts do: direct files,
GitHub release redirects, Google Drive's confirmation page, the Hugging Face Hub (through
huggingface_hub), truncated bodies and HTML pages. Nothing here reaches the internet."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from greenvoc.vocoders import CheckpointError, VocoderSpec, WeightsSource, get_spec, load_vocoder
from greenvoc.vocoders.cache import cached_checkpoint, entry_dir
from greenvoc.vocoders.checkpoint import load_into, read_checkpoint
from greenvoc.vocoders.download import (
    DownloadError,
    confirmation_url,
    parse_source,
)
from greenvoc.vocoders.pull import integrity, pull_checkpoint
from greenvoc.vocoders.weights import has_usable_weights
from tests.vocoders.serve import DRIVE_PAGE, serve
from tests.vocoders.test_wavenet_family import to_pwg, to_wavenet

GREENVOC = [sys.executable, "-m", "greenvoc.cli"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def host(tmp_path):
    with serve(tmp_path / "served") as h:
        yield h


def tiny_spec(url: str, sha256: str | None = None, name: str = "test-tiny") -> VocoderSpec:
    """A zoo entry whose model is one 1×1 conv: a real checkpoint of a few kilobytes."""
    return VocoderSpec(
        name, "gan", None, "hifigan", build=lambda _: nn.Conv1d(80, 4, 1),
        weights=WeightsSource("url", url=url, sha256=sha256, sha256_source="test"),
        load=lambda module, path: load_into(module, read_checkpoint(path), path))


def tiny_checkpoint(seed: int = 0) -> bytes:
    torch.manual_seed(seed)
    buffer = io.BytesIO()
    torch.save(nn.Conv1d(80, 4, 1).state_dict(), buffer)
    return buffer.getvalue()


def nothing_cached(cache, name: str = "test-tiny") -> bool:
    folder = cache / "checkpoints"
    return not (folder / name).exists() and not list(folder.glob(".*pull*"))


# -- addresses ----------------------------------------------------------------------------

def test_addresses_are_classified_and_drive_pages_become_download_urls():
    view = parse_source("https://drive.google.com/file/d/1rpK8CzAAirq9sWZhe9nlfvxMF1dRgFbF/view")
    assert view.kind == "drive" and view.file_id == "1rpK8CzAAirq9sWZhe9nlfvxMF1dRgFbF"
    assert view.url == ("https://drive.google.com/uc?export=download&id="
                        "1rpK8CzAAirq9sWZhe9nlfvxMF1dRgFbF")
    assert parse_source("https://drive.google.com/uc?id=1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U"
                        ).file_id == "1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U"
    hf = parse_source("https://huggingface.co/nvidia/bigvgan_v2_22khz_80band_256x/resolve/"
                      "main/bigvgan_generator.pt")
    assert (hf.kind, hf.repo_id, hf.revision, hf.path) == (
        "hf", "nvidia/bigvgan_v2_22khz_80band_256x", "main", "bigvgan_generator.pt")
    assert hf.sibling("config.json").path == "config.json"
    assert parse_source("https://github.com/o/r/releases/download/v1/g.pt").kind == "direct"
    with pytest.raises(DownloadError, match="without a file id"):
        parse_source("https://drive.google.com/drive/folders")


def test_every_registered_url_is_one_the_downloader_can_fetch():
    """The issue's defect: waveglow's /file/d/…/view page could only ever return HTML."""
    from greenvoc.vocoders import list_specs

    for spec in list_specs():
        if spec.weights.kind == "url":
            source = parse_source(spec.weights.url)
            if "drive.google.com" in spec.weights.url:
                assert source.kind == "drive" and "export=download" in source.url, spec.name
                assert spec.weights.filename, f"{spec.name}: Drive gives no file name"
            if spec.weights.config_url:  # lands beside the checkpoint, where the loader looks
                config = parse_source(spec.weights.config_url)
                assert config.kind == source.kind, spec.name
                if source.kind == "hf":
                    assert (config.repo_id, config.revision) == (source.repo_id,
                                                                 source.revision), spec.name


def test_drive_confirmation_page_forms_are_read():
    page = DRIVE_PAGE.format(id="XYZ")
    url = confirmation_url(page, "https://drive.google.com/uc?export=download&id=XYZ")
    assert url.startswith("https://drive.google.com/download?")
    assert {"id=XYZ", "confirm=t", "uuid=u-1234", "export=download"} <= set(
        url.split("?")[1].split("&"))
    old = '<a id="uc-download-link" href="/uc?export=download&amp;confirm=AbCd&amp;id=XYZ">'
    assert confirmation_url(old, "https://docs.google.com/uc?id=XYZ") == (
        "https://docs.google.com/uc?export=download&confirm=AbCd&id=XYZ")
    assert confirmation_url('"downloadUrl":"https://x/d?id\\u003dXYZ\\u0026c\\u003d1"', "") == (
        "https://x/d?id=XYZ&c=1")
    assert confirmation_url("<html><title>Quota exceeded</title></html>", "") is None


# -- direct, GitHub release, Drive --------------------------------------------------------

def test_direct_download_is_checked_loaded_and_recorded(host, cache):
    payload = tiny_checkpoint()
    (host.root / "g.pt").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    spec = tiny_spec(f"{host.base}/releases/download/v1/g.pt", sha256=digest)
    assert cached_checkpoint(spec) is None and not has_usable_weights(spec)
    result = pull_checkpoint(spec)
    assert result.verified == "published" and result.sha256 == digest and not result.cached
    assert result.path.read_bytes() == payload and cached_checkpoint(spec) == result.path
    assert has_usable_weights(spec)
    again = pull_checkpoint(spec)
    assert again.cached and again.path == result.path
    assert sum(r.startswith("GET /files/") for r in host.requests) == 1


def test_a_file_put_in_the_cache_by_hand_does_not_count_as_weights(host, cache):
    spec = tiny_spec(f"{host.base}/files/g.pt")
    folder = entry_dir(spec)
    folder.mkdir(parents=True)
    (folder / "g.pt").write_text("<html>not a checkpoint</html>")
    assert cached_checkpoint(spec) is None and not has_usable_weights(spec)


def test_sha256_mismatch_discards_the_file(host, cache):
    (host.root / "g.pt").write_bytes(tiny_checkpoint())
    with pytest.raises(DownloadError, match="does not match the expected 0000"):
        pull_checkpoint(tiny_spec(f"{host.base}/files/g.pt", sha256="0" * 64))
    assert nothing_cached(cache)


def test_unverified_pull_records_the_hash_and_a_pin_verifies_it(host, cache):
    payload = tiny_checkpoint()
    (host.root / "g.pt").write_bytes(payload)
    spec = tiny_spec(f"{host.base}/files/g.pt")
    assert integrity(spec).startswith("unverified")
    first = pull_checkpoint(spec)
    assert first.verified == "" and first.sha256 == hashlib.sha256(payload).hexdigest()
    pinned = pull_checkpoint(spec, sha256=first.sha256, force=True)
    assert pinned.verified == "pinned"
    with pytest.raises(DownloadError, match="does not match"):
        pull_checkpoint(spec, sha256="1" * 64, force=True)


def test_truncated_download_names_the_url_and_caches_nothing(host, cache):
    (host.root / "g.pt").write_bytes(tiny_checkpoint() * 4)
    url = f"{host.base}/truncated/g.pt"
    with pytest.raises(DownloadError, match=r"truncated/g.pt was cut short: \d+ bytes came back"):
        pull_checkpoint(tiny_spec(url))
    assert nothing_cached(cache)


def test_an_html_page_names_the_url_and_what_came_back(host, cache):
    with pytest.raises(DownloadError, match=r"/page answered with an HTML page.*404 Not Found"):
        pull_checkpoint(tiny_spec(f"{host.base}/page"))
    assert nothing_cached(cache)


def test_drive_large_file_confirmation_is_followed_with_its_cookie(host, cache):
    payload = tiny_checkpoint(1)
    (host.root / "1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U").write_bytes(payload)
    spec = dataclasses.replace(
        tiny_spec(f"{host.base}/uc?export=download&id=1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U"),
        weights=WeightsSource("url", url=f"{host.base}/uc?export=download&id="
                              "1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U", filename="model.pt"))
    result = pull_checkpoint(spec)
    assert result.path.name == "model.pt" and result.path.read_bytes() == payload
    assert any(r.startswith("GET /download?") and "confirm=t" in r for r in host.requests)


def test_drive_without_a_usable_confirmation_is_an_error(host, cache):
    with pytest.raises(DownloadError, match=r"HTML page.*Quota exceeded"):
        pull_checkpoint(tiny_spec(f"{host.base}/uc?export=download&id=missing-file-id-000000"))
    assert nothing_cached(cache)


def test_a_checkpoint_of_another_model_is_not_cached(host, cache):
    torch.save({"generator": nn.Conv1d(80, 8, 3).state_dict()}, host.root / "other.pt")
    with pytest.raises(CheckpointError, match=r"nothing was cached.*(missing|unexpected) keys"):
        pull_checkpoint(tiny_spec(f"{host.base}/files/other.pt"))
    assert nothing_cached(cache)


# -- the Hugging Face Hub -------------------------------------------------------------------

def test_hub_download_goes_through_huggingface_hub_and_checks_its_sha256(host, cache):
    payload = tiny_checkpoint(2)
    (host.root / "generator.pt").write_bytes(payload)
    spec = tiny_spec("https://huggingface.co/org/model/resolve/main/generator.pt")
    assert "not pinned to a commit" in integrity(spec)
    result = pull_checkpoint(spec, hf_endpoint=host.base)
    assert result.verified == "hub" and result.path.read_bytes() == payload
    assert "models--org--model" in str(result.path)  # huggingface_hub's own cache layout
    assert cached_checkpoint(spec) == result.path


def test_hub_file_that_differs_from_its_etag_is_removed(host, cache):
    (host.root / "generator.pt").write_bytes(tiny_checkpoint(3))
    host.hub_etags["generator.pt"] = "f" * 64
    spec = tiny_spec("https://huggingface.co/org/model/resolve/main/generator.pt")
    with pytest.raises(DownloadError, match="differs from the Hub's ffff"):
        pull_checkpoint(spec, hf_endpoint=host.base)
    assert cached_checkpoint(spec) is None
    assert not [p for p in (cache / "hf").rglob("*") if p.is_file() and p.suffix == ".pt"]


# -- ParallelWaveGAN: the release archive, its config.yml and stats.h5 ----------------------

def pwg_release(tmp_path, layers: int = 6, stacks: int = 2, seed: int = 0):
    """A ParallelWaveGAN release as kan-bayashi packs it: a tar.gz holding
    ``checkpoint-400000steps.pkl`` (``{"model": {"generator", "discriminator"}, "steps"}``,
    weight-norm keys), ``config.yml`` and ``stats.h5``. Returns (archive, module, mean, scale)."""
    import h5py

    spec = get_spec("pwg")
    config = dataclasses.replace(spec.config, layers=layers, stacks=stacks)
    torch.manual_seed(seed)
    module = spec.build(config).eval()
    folder = tmp_path / "ljspeech_parallel_wavegan.v1"
    folder.mkdir()
    # {"model": {"generator": …, "discriminator": …}, "steps": 400000}, weight-norm pairs
    torch.save(to_pwg(module.state_dict()), folder / "checkpoint-400000steps.pkl")
    (folder / "config.yml").write_text(yaml.safe_dump({
        "sampling_rate": 22050, "fft_size": 1024, "hop_size": 256, "num_mels": 80,
        "fmin": 80, "fmax": 7600, "format": "hdf5", "generator_params": {
            "in_channels": 1, "out_channels": 1, "kernel_size": 3, "layers": layers,
            "stacks": stacks, "residual_channels": 64, "gate_channels": 128,
            "skip_channels": 64, "aux_channels": 80, "aux_context_window": 2,
            "use_weight_norm": True, "upsample_net": "ConvInUpsampleNetwork",
            "upsample_params": {"upsample_scales": [4, 4, 4, 4]}}}))
    rng = np.random.default_rng(seed)
    mean, scale = rng.normal(-2, 0.5, 80), rng.uniform(0.5, 2, 80)
    with h5py.File(folder / "stats.h5", "w") as f:
        f["mean"], f["scale"] = mean, scale
    archive = tmp_path / "ljspeech_parallel_wavegan.v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive, module, mean, scale


def test_pwg_release_archive_from_drive_loads_with_its_config_and_stats(host, cache, tmp_path):
    """The issue's defect: the cached archive could not be read, and stats.h5 was ignored."""
    archive, module, mean, scale = pwg_release(tmp_path)
    (host.root / "1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U").write_bytes(archive.read_bytes())
    url = f"{host.base}/uc?id=1PdZv37JhAQH6AwNh31QlqruqrvjTBq7U"
    result = pull_checkpoint(get_spec("pwg"), url=url)
    assert result.path.is_dir() and result.file.name == "ljspeech_parallel_wavegan.v1.tar.gz"
    voc = load_vocoder("pwg", weights=result.path)
    assert voc.has_weights and voc.spec.config.layers == 6  # built as config.yml says
    mel = torch.rand(80, 3) * 3 - 5
    normalised = (mel - torch.tensor(mean, dtype=torch.float32)[:, None]) / torch.tensor(
        scale, dtype=torch.float32)[:, None]
    with torch.inference_mode():
        z = torch.randn(1, 1, 3 * 256, generator=torch.Generator().manual_seed(5))
        expected = module.generate(z, normalised[None])  # the official normalize_before=True
        got = voc.module.generate(z, mel[None])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_bench_size_of_an_unpacked_release_is_its_checkpoint_file(host, cache, tmp_path):
    """bench's bytes_on_disk fell back to 4 bytes per parameter for a release unpacked into the
    cache (a folder, not a file)."""
    from greenvoc.bench.cost import bytes_on_disk

    archive, *_ = pwg_release(tmp_path, layers=3, stacks=1)
    (host.root / "pwg.tar.gz").write_bytes(archive.read_bytes())
    pulled = pull_checkpoint(get_spec("pwg"), url=f"{host.base}/files/pwg.tar.gz")
    assert pulled.path.is_dir()
    checkpoint = pulled.path / "ljspeech_parallel_wavegan.v1" / "checkpoint-400000steps.pkl"
    voc = load_vocoder("pwg")
    assert bytes_on_disk(voc) == checkpoint.stat().st_size != voc.params() * 4


def test_a_release_config_is_fetched_beside_the_checkpoint_and_needed_after(host, cache,
                                                                            tmp_path):
    """wavenet-mol: r9y9's hyper-parameter json is published as a file of its own; the pull
    puts it beside the checkpoint (the loader builds what it says), and a cache that lost it
    no longer counts as weights."""
    spec = get_spec("wavenet-mol")
    config = dataclasses.replace(spec.config, layers=2, stacks=1, residual_channels=8,
                                 gate_channels=8, skip_out_channels=8)
    module = spec.build(config)
    stem = "20180510_mixture_lj_checkpoint_step000320000_ema"
    torch.save({"state_dict": to_wavenet(module.state_dict())["state_dict"]},
               host.root / f"{stem}.pth")
    hparams = {"layers": 2, "stacks": 1, "residual_channels": 8, "gate_channels": 8,
               "skip_out_channels": 8, "hop_size": 256, "input_type": "raw"}
    (host.root / f"{stem}.json").write_text(json.dumps(hparams))
    pulled = pull_checkpoint(spec, url=f"{host.base}/files/{stem}.pth")
    assert (pulled.path.parent / f"{stem}.json").is_file()
    assert load_vocoder("wavenet-mol").spec.config.layers == 2
    (pulled.path.parent / f"{stem}.json").unlink()
    assert cached_checkpoint(spec) is None and not has_usable_weights(spec)
    (host.root / f"{stem}.json").write_text(json.dumps(hparams | {"hop_size": 300}))
    with pytest.raises(CheckpointError, match=r"hop_size is 300 but this entry's is 256"):
        pull_checkpoint(spec, url=f"{host.base}/files/{stem}.pth", force=True)


def test_pwg_release_of_another_model_or_front_end_is_refused(tmp_path):
    pwg_release(tmp_path)
    folder = tmp_path / "ljspeech_parallel_wavegan.v1"
    config = yaml.safe_load((folder / "config.yml").read_text())
    (folder / "config.yml").write_text(yaml.safe_dump(config | {"hop_size": 300}))
    with pytest.raises(CheckpointError, match=r"front-end hop_size is 300 but this entry's "
                       r"is 256"):
        load_vocoder("pwg", weights=folder)
    (folder / "config.yml").write_text(yaml.safe_dump(config | {
        "generator_type": "MelGANGenerator"}))
    with pytest.raises(CheckpointError, match=r"MelGANGenerator, which looks like the zoo's "
                       r"mb-melgan"):
        load_vocoder("pwg", weights=folder)


# -- the command line ----------------------------------------------------------------------

def test_zoo_pull_prints_the_hash_to_pin_and_info_says_unverified(host, tmp_path):
    archive, *_ = pwg_release(tmp_path, layers=3, stacks=1)
    (host.root / "pwg.tar.gz").write_bytes(archive.read_bytes())
    env = {**__import__("os").environ, "GREENVOC_CACHE_DIR": str(tmp_path / "cache")}
    url = f"{host.base}/files/pwg.tar.gz"
    out = subprocess.run([*GREENVOC, "zoo", "pull", "pwg", "--url", url], env=env,
                         capture_output=True, text=True, timeout=300)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert out.returncode == 0, out.stderr
    text = " ".join((out.stdout + out.stderr).split())
    assert digest in text and f"--sha256 {digest}" in text and "unverified" in text
    info = subprocess.run([*GREENVOC, "zoo", "info", "pwg", "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    doc = json.loads(info.stdout)
    assert doc["integrity"].startswith("unverified") and doc["weights_available"]
    diffwave = json.loads(subprocess.run(
        [*GREENVOC, "zoo", "info", "diffwave", "--json"], env=env, capture_output=True,
        text=True, timeout=300).stdout)
    assert diffwave["integrity"].startswith("verified: sha256 d415d211")
    assert math.isclose(doc["sample_rate"], 22050)
