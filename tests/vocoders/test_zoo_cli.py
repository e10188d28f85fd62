"""`greenvoc zoo` and `greenvoc vocode` from the shell; `zoo pull` against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import sys
import threading
from functools import partial

import pytest

from greenvoc.vocoders.base import VocoderSpec, WeightsSource
from greenvoc.vocoders.families.hifigan import V2, HifiganGenerator
from greenvoc.vocoders.pull import DownloadError, pull_checkpoint

GREENVOC = [sys.executable, "-m", "greenvoc.cli"]


def run(*args, cwd, env=None):
    return subprocess.run([*GREENVOC, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def test_zoo_list_json_has_every_entry_with_its_fields(tmp_path):
    out = run("zoo", "list", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    names = {r["name"] for r in rows}
    assert {"hifigan-v1-lj", "hifigan-v1-universal", "hifigan-v2", "hifigan-v3"} <= names
    for r in rows:
        assert {"name", "family", "params", "sample_rate", "weights"} <= set(r)


def test_unknown_name_exits_2_listing_the_names(tmp_path):
    out = run("zoo", "info", "hifigan-v9", cwd=tmp_path)
    assert out.returncode == 2
    assert "hifigan-v1-lj" in out.stderr


def test_vocode_writes_audio_at_the_model_rate(tmp_path):
    import importlib.util
    from pathlib import Path

    import soundfile as sf

    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    clip = root / "example_audio_data" / "arctic_a0007.wav"
    out = run("vocode", "hifigan-v1-lj", str(clip), str(tmp_path / "o.wav"), "--json",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data, rate = sf.read(tmp_path / "o.wav")
    assert rate == 22050 and abs(len(data) / rate - 4.0) < 0.05
    assert json.loads(out.stdout)["has_weights"] is True


@pytest.fixture
def http_dir(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _spec(url: str, sha: str | None) -> VocoderSpec:
    return VocoderSpec("test-pull", "gan", V2, "hifigan", HifiganGenerator,
                       WeightsSource("url", layout="jik876/hifi-gan", url=url, sha256=sha))


def test_pull_checks_sha256_and_caches(http_dir, tmp_path, monkeypatch):
    served, base = http_dir
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))
    payload = b"greenvoc checkpoint bytes" * 1000
    (served / "g.pt").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    path, digest = pull_checkpoint(_spec(f"{base}/g.pt", good))
    assert digest == good and path.read_bytes() == payload
    assert path.parent.name == "test-pull"
    with pytest.raises(DownloadError, match="does not match the published"):
        pull_checkpoint(_spec(f"{base}/g.pt", "0" * 64))
    with pytest.raises(DownloadError, match="cannot download"):
        pull_checkpoint(_spec(f"{base}/missing.pt", None))
    assert not list(path.parent.glob("*.part*"))


def test_an_html_answer_is_not_cached_as_a_checkpoint(http_dir, tmp_path, monkeypatch):
    served, base = http_dir
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))
    (served / "uc").write_text("<!DOCTYPE html><html><body>Google Drive can't scan this "
                               "file for viruses</body></html>")
    with pytest.raises(DownloadError, match="HTML page"):
        pull_checkpoint(_spec(f"{base}/uc", None))
    assert not (tmp_path / "cache" / "checkpoints" / "test-pull" / "uc").exists()
