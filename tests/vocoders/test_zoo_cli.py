"""`greenvoc zoo` and `greenvoc vocode` from the shell."""

from __future__ import annotations

import json
import subprocess
import sys

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

# `greenvoc zoo pull` against a local server: tests/vocoders/test_download.py
