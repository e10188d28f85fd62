"""The benchmark's figures and rows hold under faults: failed rows are retried, a bad first file
harms only its row, the idle window resumes, database and disk failures say what to do, memory
is measured per model, and long utterances are synthesized in chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from greenvoc.audio.io import AudioError, load_audio, save_audio
from greenvoc.bench import plan, run_bench
from greenvoc.errors import StoreError
from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, failed_attempts, get_or_create_run, load_result_rows
from greenvoc.testing.postgres import postgres_server
from greenvoc.testing.system import require_postgres
from tests.bench.conftest import RATE, arctic, write_clips


def _run(corpus: Path, store: ResultStore, out: Path, models: str = "hifigan-v2", **kw):
    return run_bench(plan(models, corpus=str(corpus), metrics="mel_l1", idle_s=0.1,
                          cost_only_limit=6, **kw), store, out, progress=False)


def test_a_bad_first_file_fails_its_row_only_and_is_retried_once_fixed(tmp_path):
    corpus = write_clips(tmp_path / "corpus", 3)
    good = (corpus / "clip0.wav").read_bytes()
    (corpus / "clip0.wav").write_bytes(b"not audio at all")  # the first utterance by id
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    first = _run(corpus, store, tmp_path / "audio")
    # The warm-up runs on a synthetic input, not on the first file: one row fails, not three.
    assert (first.rows_written, first.rows_failed) == (2, 1)
    (corpus / "clip0.wav").write_bytes(good)
    again = _run(corpus, store, tmp_path / "audio")
    assert again.run_id == first.run_id and again.resumed
    assert (again.rows_written, again.rows_failed, again.rows_skipped) == (1, 0, 2)
    assert again.rows_retried == 1
    _, rows = load_result_rows(store.url, first.run_id)
    assert len(rows) == 3 and all(r["error"] is None and r["energy_j"] > 0 for r in rows)
    history = failed_attempts(store, first.run_id)
    assert [h["utterance"] for h in history] == ["clip0"]
    assert "clip0.wav" in history[0]["error"]


def test_a_retried_row_that_fails_again_keeps_both_errors(tmp_path):
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    run_id, _ = get_or_create_run(store, {"k": 1}, 0, {})
    key = dict(model="m", variant="fp32", utterance="u", family="gan", has_weights=True)
    assert add_result(store, run_id, **key, error="first failure")
    assert add_result(store, run_id, **key, error="second failure")
    assert add_result(store, run_id, **key, energy_j=1.0)  # success replaces the failure
    assert not add_result(store, run_id, **key, energy_j=2.0)  # a success is never replaced
    _, rows = load_result_rows(store.url, run_id)
    assert len(rows) == 1 and rows[0]["energy_j"] == 1.0 and rows[0]["error"] is None
    assert [h["error"] for h in failed_attempts(store, run_id)] == ["first failure",
                                                                     "second failure"]


def _idle(db: Path) -> tuple[list, list]:
    """Idle power of the runs and of the run's nodes ([] while the tables do not exist yet)."""
    out = []
    with create_engine(f"sqlite:///{db}").connect() as conn:
        for table in ("runs", "run_nodes"):
            try:
                out.append([r[0] for r in conn.execute(text(f"select idle_power_w from {table}"))])
            except Exception:
                out.append([])
    return out[0], out[1]


def test_a_kill_during_the_idle_window_is_resumed_and_the_idle_figure_kept(tmp_path):
    corpus = write_clips(tmp_path / "corpus", 2)
    db = tmp_path / "r.db"
    script = textwrap.dedent(f"""
        from greenvoc.bench import plan, run_bench
        from greenvoc.store import ResultStore
        p = plan("griffin-lim", corpus={str(corpus)!r}, metrics="none", idle_s=4.0)
        run_bench(p, ResultStore("sqlite:///{db}"), {str(tmp_path / 'audio')!r},
                  progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the run row exists: the idle window has begun
        if db.exists() and _idle(db)[0]:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    runs, nodes = _idle(db)
    assert runs == [None] and nodes == []  # killed inside the window: nothing stored yet
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=300)
    runs, nodes = _idle(db)
    assert runs[0] is not None and nodes == runs
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=300)
    assert _idle(db) == (runs, nodes)  # resumed: the stored figure stands, none re-measured
    _, rows = load_result_rows(f"sqlite:///{db}")
    for r in rows:
        assert r["energy_net_j"] == pytest.approx(r["energy_j"] - runs[0] * r["compute_s"])


def test_peak_memory_is_the_models_own_not_the_sweeps_high_water_mark(tmp_path, corpus):
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    # V1 (13.9 M parameters) is measured first; V2 (0.9 M) after it in the same process.
    summary = run_bench(plan("hifigan-v1-lj,hifigan-v2", corpus=str(corpus), limit=2,
                             metrics="none", idle_s=0.1), store, tmp_path / "a", progress=False)
    assert summary.rows_failed == 0
    _, rows = load_result_rows(store.url)
    peak = {r["model"]: max(x["peak_rss_bytes"] for x in rows if x["model"] == r["model"])
            for r in rows}
    assert peak["hifigan-v1-lj"] > 13_926_017 * 4  # at least its fp32 weights
    assert 0 < peak["hifigan-v2"] < peak["hifigan-v1-lj"] / 2


def test_a_long_utterance_is_synthesized_in_chunks_not_failed(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    speech = arctic()
    save_audio(folder / "long.wav", np.tile(speech, int(np.ceil(25 * RATE / len(speech))))
               [: 25 * RATE], RATE)
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    summary = _run(folder, store, tmp_path / "audio")
    assert (summary.rows_written, summary.rows_failed) == (1, 0)
    _, rows = load_result_rows(store.url)
    assert rows[0]["audio_s"] == pytest.approx(25.0, abs=0.05)


# -- the results database and the disk failing ------------------------------------------------

def test_postgres_stopped_mid_run_is_a_store_error_without_the_password(tmp_path):
    with postgres_server(require_postgres(), tcp=True) as url:
        url = url.replace("greenvoc@", "greenvoc:s3cret-pw@")  # trust auth ignores it
        store = ResultStore(url)
        run_id, _ = get_or_create_run(store, {"k": 1}, 0, {})
    # the server is stopped now: the next write must say what happened and what to do
    with pytest.raises(StoreError) as err:
        add_result(store, run_id, model="m", variant="fp32", utterance="u", family="gan",
                   has_weights=True)
    message = str(err.value)
    assert "s3cret-pw" not in message and "***" in message
    assert "pg_isready" in message and "run the same command again" in message


_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
""")


def _with_file_size_limit(limit: int, body: str, cwd: Path) -> subprocess.CompletedProcess:
    code = _FULL_DISK.replace("FSIZE_LIMIT", str(limit)) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_sqlite_disk_full_is_a_store_error(tmp_path):
    db = tmp_path / "r.db"
    store = ResultStore(f"sqlite:///{db}")
    get_or_create_run(store, {"k": 1}, 0, {})
    done = _with_file_size_limit(db.stat().st_size + 8192, f"""
        from greenvoc.errors import StoreError
        from greenvoc.store import ResultStore
        from greenvoc.store.results import add_result
        store = ResultStore("sqlite:///{db}")
        try:
            for i in range(200):
                add_result(store, 1, model="m", variant="fp32", utterance=f"u{{i}}",
                           family="gan", has_weights=True, metrics={{"x": "y" * 4000}})
        except StoreError as e:
            print("STORE-ERROR", e)
            sys.exit(3)
    """, tmp_path)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "results database sqlite:///" in done.stdout and "free space" in done.stdout


def test_audio_is_never_left_truncated_when_the_disk_fills(tmp_path):
    target = tmp_path / "out.wav"
    save_audio(target, np.zeros(100, dtype=np.float32), RATE)
    before = target.read_bytes()
    done = _with_file_size_limit(20_000, f"""
        import numpy as np
        from greenvoc.audio.io import AudioError, save_audio
        try:
            save_audio({str(target)!r}, np.full(10 * {RATE}, 0.1, dtype=np.float32), {RATE})
        except AudioError as e:
            print("AUDIO-ERROR", e)
            sys.exit(3)
    """, tmp_path)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "free space" in done.stdout and "System error" not in done.stdout.split(";", 1)[1]
    assert target.read_bytes() == before  # the old file is intact, no truncated copy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]
    with pytest.raises(AudioError):
        load_audio(tmp_path / "missing.wav")
    assert os.path.getsize(target) == len(before)
