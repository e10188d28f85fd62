"""Load on the listening-test server: concurrent raters against a real uvicorn on 127.0.0.1.

    python benchmarks/listen_load.py [--raters 50] [--ratings 20]

Builds a tiny ACR study (real CMU ARCTIC speech, the tests' fixture), starts the app under
uvicorn in a subprocess over an SQLite results database, and lets ``--raters`` raters run at
once: each registers, passes the check, then plays and rates ``--ratings`` pages (training pages
included). Prints the ratings stored (must equal raters × ratings), the rating requests'
latency (p50, p95, max) and the throughput. ``tests/listen/test_load.py`` runs the same code.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SERVER = """
import sys, uvicorn
from greenvoc.listen.app import create_app
from greenvoc.listen.study import load_study
from greenvoc.store import ResultStore
app = create_app(load_study(sys.argv[1]), ResultStore(sys.argv[2]), sys.argv[3])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[4]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``create_app`` under uvicorn in a subprocess (what ``greenvoc listen serve`` runs,
    without the CLI's start-up imports). A context manager; ``base`` is its URL."""

    def __init__(self, study_path: Path, db_url: str, admin_token: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.args = [sys.executable, "-c", SERVER, str(study_path), db_url, self.admin_token,
                     str(self.port)]

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(self.args, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()}")
            try:
                if httpx.get(f"{self.base}/api/study", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("server did not start within 30 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class LoadResult:
    raters: int
    ratings_per_rater: int
    stored: int
    latencies_s: list[float]
    wall_s: float

    def quantile_ms(self, q: float) -> float:
        return float(np.quantile(self.latencies_s, q) * 1000)

    def line(self) -> str:
        return (f"{self.raters} raters × {self.ratings_per_rater} ratings: {self.stored} stored; "
                f"rating latency p50 {self.quantile_ms(0.5):.1f} ms, p95 "
                f"{self.quantile_ms(0.95):.1f} ms, max {self.quantile_ms(1.0):.1f} ms; "
                f"{len(self.latencies_s) / self.wall_s:.0f} ratings/s over {self.wall_s:.1f} s")


class _Client:
    """One keep-alive connection (http.client: far less CPU per request than an async client,
    so that on a small machine the server, not the load generator, is what is measured)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data) if data else {}


def _rater(base: str, check_id: str, beeps: int, n: int, latencies: list[float]) -> None:
    c = _Client(base)
    c.headers["X-Rater-Token"] = c.call("POST", "/api/register", {"consent": True})["token"]
    c.call("POST", "/api/stage", {"stage": "check"})
    c.call("POST", "/api/play", {"stimulus": check_id})
    passed = c.call("POST", "/api/check", {"headphones": True, "quiet": True, "beeps": beeps})
    assert passed["passed"], passed
    state = c.call("GET", "/api/session")
    for _ in range(n):
        page = state["page"]
        for stim in page["stimuli"]:
            c.call("POST", "/api/play", {"stimulus": stim})
        t0 = time.perf_counter()
        state = c.call("POST", "/api/ratings",
                       {"item": page["item"], "scores": {s: 3 for s in page["stimuli"]}})
        latencies.append(time.perf_counter() - t0)
    c.conn.close()


def run_load(server: Server, check_id: str, beeps: int, raters: int = 50, ratings: int = 20
             ) -> LoadResult:
    """``raters`` concurrent raters (one thread and connection each), ``ratings`` pages each;
    counts what the server stored."""
    latencies: list[float] = []
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=raters) as pool:
        for f in [pool.submit(_rater, server.base, check_id, beeps, ratings, latencies)
                  for _ in range(raters)]:
            f.result()
    wall = time.perf_counter() - t0
    export = httpx.get(f"{server.base}/admin/api/export.json",
                       headers={"X-Admin-Token": server.admin_token}, timeout=30).json()
    return LoadResult(raters, ratings, len(export["ratings"]), latencies, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--ratings", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.listen.fixtures import make_study

    with tempfile.TemporaryDirectory() as tmp:
        # per rater: 4 training + per_rater clips + 1 gold + 1 trap pages
        study, store = make_study(Path(tmp), "acr", per_rater=max(1, args.ratings - 6),
                                  n_utts=max(1, -(-(args.ratings - 6) // 3)))
        with Server(study.path, store.url) as server:
            result = run_load(server, study.check.id, study.check_beeps, args.raters,
                              args.ratings)
    print(f"cpus: {os.cpu_count()}, database: SQLite (WAL, synchronous=FULL)")
    print(result.line())


if __name__ == "__main__":
    main()
