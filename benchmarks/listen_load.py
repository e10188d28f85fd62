"""Load on the listening-test server: concurrent raters against a real uvicorn on 127.0.0.1.

    python benchmarks/listen_load.py [--raters 50] [--ratings 20] [--kill-after N]

Builds a tiny ACR study (real CMU ARCTIC speech, the tests' fixture), starts the app under
uvicorn in a subprocess over an SQLite results database (WAL, synchronous=FULL: a rating is
fsynced before it is acknowledged), and lets ``--raters`` raters run at once, each as fast as it
can (no listening time): register with a Prolific id, pass the check (tone count and the
headphone test), then for each of ``--ratings`` pages (training pages included) report the clip
started and ended and submit the rating. Prints the ratings stored (must equal raters × ratings),
the rating requests' latency (p50, p95, max), the ratings per second sustained over the run, and
the CPU it ran on; the load generator shares the machine with the server.

``--kill-after N``: SIGKILL the server once N ratings were acknowledged, then reopen the database
and check that every acknowledged rating is in it. ``tests/listen/test_load.py`` runs both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed on the way out."""
        self.proc.kill()
        self.proc.wait()


@dataclass
class LoadResult:
    """latencies_s: every acknowledged rating request's round trip; acked: (rater, item) of each
    acknowledged rating; stored: ratings found in the database afterwards; failed: raters
    stopped by an error (the kill)."""

    raters: int
    ratings_per_rater: int
    stored: int
    latencies_s: list[float]
    wall_s: float
    acked: list[tuple[str, str]] = field(default_factory=list)
    failed: int = 0
    server_cpu_s: float | None = None

    def quantile_ms(self, q: float) -> float:
        return float(np.quantile(self.latencies_s, q) * 1000)

    @property
    def ratings_per_s(self) -> float:
        return len(self.latencies_s) / self.wall_s

    def line(self) -> str:
        return (f"{self.raters} raters × {self.ratings_per_rater} ratings: "
                f"{len(self.acked)} acknowledged, {self.stored} stored; rating latency p50 "
                f"{self.quantile_ms(0.5):.1f} ms, p95 {self.quantile_ms(0.95):.1f} ms, max "
                f"{self.quantile_ms(1.0):.1f} ms; {self.ratings_per_s:.0f} ratings/s sustained "
                f"over {self.wall_s:.1f} s" + (
                    f"; server CPU {1000 * self.server_cpu_s / len(self.latencies_s):.2f} ms per "
                    "rated page (with its play events)" if self.server_cpu_s else ""))


class _Client:
    """One keep-alive HTTP/1.1 connection on asyncio streams. All raters share one event loop
    in this process: no thread per rater, no GIL contention in the load generator, so on a small
    machine what is measured is the server, not the client's own scheduling."""

    def __init__(self, base: str) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.headers = {"Content-Type": "application/json"}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, path: str, body: dict | None = None) -> dict:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}"
                          f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {payload[:200]!r}")
        return json.loads(payload) if payload else {}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class _Shared:
    latencies: list[float] = field(default_factory=list)
    acked: list[tuple[str, str]] = field(default_factory=list)
    raters: set[str] = field(default_factory=set)
    stop: bool = False


async def _rater(base: str, beeps: int, answers: dict[str, int], n: int, tag: str,
                 shared: _Shared) -> None:
    c = _Client(base)
    try:
        reg = await c.call("POST", "/api/register", {"consent": True, "participant": {
            "PROLIFIC_PID": f"load{tag}", "STUDY_ID": "listenload", "SESSION_ID": f"s{tag}"}})
        shared.raters.add(reg["rater"])
        c.headers["X-Rater-Token"] = reg["token"]
        await c.call("POST", "/api/stage", {"stage": "check"})
        check = (await c.call("GET", "/api/session"))["check"]
        for stim in (check["calibration"], *check["trials"]):
            await c.call("POST", "/api/play", {"stimulus": stim, "event": "ended"})
        result = await c.call("POST", "/api/check", {
            "headphones": True, "quiet": True, "beeps": beeps,
            "answers": [answers[t] for t in check["trials"]]})
        assert result["passed"], result
        state = result["session"]
        for _ in range(n):
            if shared.stop:
                break
            page = state["page"]
            for stim in page["stimuli"]:  # what the browser reports: started, then ended
                await c.call("POST", "/api/play", {"stimulus": stim, "event": "started"})
                await c.call("POST", "/api/play", {"stimulus": stim, "event": "ended"})
            t0 = time.perf_counter()
            state = await c.call("POST", "/api/ratings", {
                "item": page["item"], "scores": {s: 3 for s in page["stimuli"]}})
            shared.latencies.append(time.perf_counter() - t0)
            shared.acked.append((reg["rater"], page["item"]))
    finally:
        c.close()


def _stored_pairs(db_url: str, study_id: str) -> set[tuple[str, str]]:
    """(rater, item) of every rating in the database, read with a fresh connection."""
    from greenvoc.listen.storage import load_records
    from greenvoc.store import ResultStore

    store = ResultStore(db_url)
    try:
        return {(r.rater, r.item) for r in load_records(store, study_id=study_id)}
    finally:
        store.engine.dispose()


async def _run_raters(server: Server, study, raters: int, ratings: int,
                      kill_after: int | None, shared: _Shared) -> int:
    answers = {t.id: t.answer for t in study.headphone}
    run = secrets.token_hex(4)  # participant ids unique to this run (a study is taken once)
    tasks = [asyncio.create_task(_rater(server.base, study.check_beeps, answers, ratings,
                                        f"{run}-{k:04d}", shared)) for k in range(raters)]
    if kill_after is not None:
        while len(shared.acked) < kill_after and not all(t.done() for t in tasks):
            await asyncio.sleep(0.002)
        server.kill()
        shared.stop = True
    failed = 0
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            if kill_after is None:
                raise outcome
            failed += 1
    return failed


def run_load(server: Server, study, db_url: str, raters: int = 50, ratings: int = 20,
             kill_after: int | None = None) -> LoadResult:
    """``raters`` concurrent raters of ``study`` (one connection each), ``ratings`` pages each;
    then checks that every acknowledged rating is in the database at ``db_url``.
    ``kill_after``: SIGKILL the server once that many ratings were acknowledged (the raters
    then stop on the broken connection)."""
    shared = _Shared()
    cpu0 = server.cpu_s()
    t0 = time.perf_counter()
    failed = asyncio.run(_run_raters(server, study, raters, ratings, kill_after, shared))
    wall = time.perf_counter() - t0
    cpu = server.cpu_s() - cpu0 if kill_after is None else None
    stored = {p for p in _stored_pairs(db_url, study.id) if p[0] in shared.raters}
    missing = set(shared.acked) - stored
    if missing:
        raise AssertionError(f"{len(missing)} acknowledged ratings are not in the database, "
                             f"e.g. {sorted(missing)[:3]}")
    items = study.item_map()
    n_stored = sum(len(items[item].stimuli) for _, item in stored)
    return LoadResult(raters, ratings, n_stored, shared.latencies, wall, shared.acked, failed,
                      cpu)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--ratings", type=int, default=20)
    parser.add_argument("--kill-after", type=int, metavar="N",
                        help="SIGKILL the server after N acknowledged ratings, then check that "
                        "every acknowledged rating is stored")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.listen.fixtures import make_study

    with tempfile.TemporaryDirectory() as tmp:
        # per rater: 4 training + per_rater clips + 1 gold + 1 trap pages
        study, store = make_study(Path(tmp), "acr", per_rater=max(1, args.ratings - 6),
                                  n_utts=max(1, -(-(args.ratings - 6) // 3)))
        with Server(study.path, store.url) as server:
            result = run_load(server, study, store.url, args.raters, args.ratings,
                              args.kill_after)
    print(f"{os.cpu_count()} logical CPUs ({cpu_name()}), server and load generator on the same "
          "machine; database: SQLite, WAL, synchronous=FULL (each acknowledged rating fsynced)")
    print(result.line())
    if args.kill_after is not None:
        print(f"server SIGKILLed after {args.kill_after} acknowledged ratings: all "
              f"{len(result.acked)} acknowledged ratings are in the database")


if __name__ == "__main__":
    main()
