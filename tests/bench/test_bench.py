"""The sweep end to end: rows, resumption after SIGKILL, configuration changes, bad names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from greenvoc.bench import plan, run_bench
from greenvoc.errors import UsageError
from greenvoc.store import ResultStore
from greenvoc.store.results import load_result_rows

GREENVOC = [sys.executable, "-m", "greenvoc.cli"]


def test_two_models_end_to_end(tmp_path, corpus):
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    p = plan("hifigan-v1-lj,hifigan-v2", corpus=str(corpus), limit=2, metrics="stoi,mel_l1",
             idle_s=0.2)
    summary = run_bench(p, store, tmp_path / "audio", progress=False)
    assert (summary.rows_written, summary.rows_failed) == (4, 0)
    info, rows = load_result_rows(store.url)
    assert info["config"]["models"] == ["hifigan-v1-lj", "hifigan-v2"]
    assert info["versions"]["torch"] and "hardware" in info
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
        assert r["rtf"] > 0 and r["energy_j"] > 0 and r["audio_s"] == pytest.approx(0.75, abs=0.02)
        assert r["energy_j_per_audio_s"] == pytest.approx(r["energy_j"] / r["audio_s"])
        assert r["energy_measured"] is False and "estimate" in r["energy_method"]
        assert Path(r["audio_path"]).is_file()
        assert r["params"] > 0 and r["bytes_on_disk"] > 0 and r["macs_per_audio_s"] > 0
    lj, v2 = by_model["hifigan-v1-lj"], by_model["hifigan-v2"]
    assert all(r["stoi"] > 0.8 and r["mel_l1"] < 1.0 for r in lj)  # the official model speaks
    assert all(r["stoi"] is None and not r["has_weights"] for r in v2)  # cost only
    # V1 costs ~15x V2 in MACs (26.4 vs ~1.7 GMAC per second of audio).
    assert lj[0]["macs_per_audio_s"] / v2[0]["macs_per_audio_s"] > 10
    assert lj[0]["macs_per_audio_s"] == pytest.approx(26.4e9, rel=0.05)


def test_resume_and_changed_config(tmp_path, corpus):
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    first = run_bench(plan("hifigan-v2", corpus=str(corpus), limit=2, metrics="mel_l1",
                           idle_s=0.1), store, tmp_path / "a", progress=False)
    again = run_bench(plan("hifigan-v2", corpus=str(corpus), limit=2, metrics="mel_l1",
                           idle_s=0.1), store, tmp_path / "a", progress=False)
    assert again.run_id == first.run_id and again.resumed
    assert (again.rows_written, again.rows_skipped) == (0, 2)
    changed = run_bench(plan("hifigan-v2", corpus=str(corpus), limit=2, metrics="mel_l1",
                             idle_s=0.1, repeat=2), store, tmp_path / "a", progress=False)
    assert changed.run_id != first.run_id and changed.rows_written == 2


def test_bad_names_are_usage_errors(corpus):
    with pytest.raises(UsageError, match="hifigan-v1-lj"):
        plan("hifigan-v9", corpus=str(corpus))
    with pytest.raises(UsageError, match="onnx-int8"):
        plan("hifigan-v2", variants="int3", corpus=str(corpus))


def _rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with create_engine(f"sqlite:///{db}").connect() as conn:
        try:
            return conn.execute(text("select run_id, model, variant, utterance from results")
                                ).all()
        except Exception:
            return []


def test_sigkill_mid_sweep_then_resume_gives_exactly_one_row_each(tmp_path, corpus):
    db = tmp_path / "r.db"
    args = [*GREENVOC, "bench", "--models", "hifigan-v2,hifigan-v3", "--corpus", str(corpus),
            "--cost-only-limit", "6", "--metrics", "mel_l1", "--db", f"sqlite:///{db}",
            "--out", str(tmp_path / "audio"), "--json"]
    env = {**os.environ, "GREENVOC_POWERCAP_ROOT": str(tmp_path / "none")}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(_rows(db)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(_rows(db))
    assert 3 <= killed_at < 12, "the sweep should have been killed mid-way"
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed"] and summary["rows_skipped"] == killed_at
    rows = _rows(db)
    assert len(rows) == 12 == len(set(rows))
    assert {r[0] for r in rows} == {summary["run_id"]}


def test_variants_are_points_of_their_own(tmp_path, corpus):
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    p = plan("hifigan-v1-lj", "fp32,int8-weight-only,onnx-fp32", corpus=str(corpus), limit=1,
             metrics="mel_l1", idle_s=0.1)
    # calibration on held-out utterances: clip0 is scored, so clip1 and clip2 calibrate
    assert p.config.calibration_ids == ("clip1", "clip2")
    summary = run_bench(p, store, tmp_path / "audio", progress=False)
    assert (summary.rows_written, summary.rows_failed) == (3, 0)
    _, rows = load_result_rows(store.url)
    by = {r["variant"]: r for r in rows}
    assert by["fp32"]["variant_detail"] == {"variant": "fp32"}
    assert by["int8-weight-only"]["bytes_on_disk"] < by["fp32"]["bytes_on_disk"] / 3
    assert by["onnx-fp32"]["variant_detail"]["variant"] == "onnx-fp32"
    for r in rows:  # every variant of the official model still speaks
        assert r["mel_l1"] < 1.0 and r["energy_j"] > 0
