"""The same sweep with the local executor and with Ray on one and two nodes of this machine.

Prints, side by side from one run (each executor once per round, in a rotated order; medians):
wall time, rows per second, the time spent outside the metered synthesis windows (start-up,
model loads, scheduling, writing rows and audio) and Ray's extra per shard from it, and energy
per second of audio per model and executor (with the ratio to the local executor). Goals
(issue 13): Ray on one node within 5 % of the local executor's wall time on a sweep of at least
a minute; energy per audio second equal across executors within noise.

Each sweep is one ``greenvoc bench --json`` command timed from the outside, as a user waits for
it: a fresh process pays Python's start-up and greenvoc's imports with either executor (a Ray
worker pays them again, in its own process). Each executor writes to its own database on one
real PostgreSQL server (a run is keyed by its configuration, so a shared database would resume
the first executor's run instead of measuring). Every worker uses ``--threads`` torch threads;
the two-node cluster has one CPU per node, so it measures two rows at a time on this 2-core
machine.

    python benchmarks/ray_scaling.py [--models a,b,c,d] [--utterances 24] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from greenvoc.audio.io import save_audio
from greenvoc.energy.tdp import cpu_info
from greenvoc.store.results import load_result_rows
from greenvoc.testing.postgres import postgres_server
from greenvoc.testing.system import postgres_bin_dir

RATE = 22050


def _corpus(folder: Path, n: int, dur_s: float) -> Path:
    import importlib.util

    from greenvoc.audio.io import load_audio

    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    wave = load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=RATE).samples
    size = int(dur_s * RATE)
    looped = np.tile(wave, size // len(wave) + 2)
    folder.mkdir(parents=True)
    for i in range(n):
        start = i * RATE // 3
        save_audio(folder / f"utt{i:02d}.wav", looped[start:start + size], RATE)
    return folder


def _database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"


def _cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 2)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "unknown ISA"
    if "avx512_vnni" in flags:
        return "AVX-512 VNNI"
    return "AVX-512 (no VNNI)" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def _sweep(name: str, executor: str, address: str | None, db: str, args, corpus: Path,
           out: Path) -> dict:
    """One ``greenvoc bench`` command, timed from the outside: what a user waits for (start-up
    and imports included, which a fresh process pays with either executor)."""
    cmd = [sys.executable, "-m", "greenvoc", "bench", "--models", args.models,
           "--corpus", str(corpus), "--cost-only-limit", str(args.utterances),
           "--metrics", "none", "--threads", str(args.threads), "--db", db,
           "--out", str(out / name), "--executor", executor, "--json"]
    if address:
        cmd += ["--ray-address", address]
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall_s = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout)
    _, rows = load_result_rows(db, summary["run_id"])
    per_model = {}
    for r in rows:
        per_model.setdefault(r["model"], []).append(r["energy_j_per_audio_s"])
    return {"name": name, "wall_s": wall_s, "synthesis_s": summary["synthesis_s"],
            "rows": summary["rows_written"], "failed": summary["rows_failed"],
            "nodes": len(summary["rows_per_node"]),
            "energy": {m: statistics.fmean(v) for m, v in per_model.items()},
            "method": sorted({r["energy_method"] for r in rows})}


def _ray_sweep(n_nodes: int, url: str, args, corpus: Path, base: Path, tag: str) -> dict:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2 if n_nodes == 1 else 1, "object_store_memory": 80 * 2**20})
    for _ in range(n_nodes - 1):
        cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    cluster.wait_for_nodes()
    try:  # the cluster's start-up is outside the timed sweep; connecting and actors are inside
        return _sweep(f"ray-{n_nodes}-node", "ray", cluster.address,
                      _database(url, f"ray{n_nodes}_{tag}"), args, corpus, base / tag)
    finally:
        cluster.shutdown()


def _run(name: str, url: str, args, corpus: Path, base: Path, tag: str) -> dict:
    if name == "local":
        return _sweep("local", "local", None, _database(url, f"local_{tag}"), args, corpus,
                      base / tag)
    return _ray_sweep(int(name.split("-")[1]), url, args, corpus, base, tag)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="hifigan-v2,hifigan-v3,melgan,mb-melgan")
    ap.add_argument("--utterances", type=int, default=24)
    ap.add_argument("--duration-s", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2,
                    help="each executor runs once per round, in a rotated order; medians shown")
    args = ap.parse_args()
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        print("PostgreSQL's server is not installed (apt-get install postgresql)", file=sys.stderr)
        return 2

    info = cpu_info()
    print(f"CPU: {info.model_name} ({info.logical_cpus} logical CPUs, {_cpu_flags()}); "
          f"torch threads per worker: {args.threads}; energy: see 'method' below")
    names = ["local", "ray-1-node", "ray-2-node"]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp, postgres_server(bin_dir, tcp=True) as url:
        base = Path(tmp)
        corpus = _corpus(base / "corpus", args.utterances, args.duration_s)
        # Untimed: the first start-up fills the page cache and greenvoc's receptive-field cache.
        warm = argparse.Namespace(**{**vars(args), "utterances": 1})
        _sweep("warm-up", "local", None, _database(url, "warmup"), warm, corpus, base / "warm")
        for k in range(args.rounds):
            for name in names[k % 3:] + names[:k % 3]:
                r = _run(name, url, args, corpus, base, f"r{k}")
                runs[name].append(r)
                print(f"round {k + 1}: {name:<11} {r['wall_s']:7.1f} s, {r['rows']} rows, "
                      f"{r['failed']} failed", flush=True)
    n_models = len(args.models.split(","))
    n_shards = n_models * -(-args.utterances // 4)
    wall = {n: statistics.median(r["wall_s"] for r in runs[n]) for n in names}
    rows = runs["local"][0]["rows"]
    print(f"\n{n_models} models x {args.utterances} utterances of {args.duration_s:g} s = "
          f"{rows} rows per sweep; {args.rounds} round(s), median wall time shown")
    # time outside the metered windows (start-up, model loads, scheduling, writing rows and
    # audio): the executor's own cost, free of the synthesis noise of a shared machine
    other = {n: statistics.median(r["wall_s"] - r["synthesis_s"] / r["nodes"] for r in runs[n])
             for n in names}
    print(f"{'executor':<12} {'nodes':>5} {'wall s':>8} {'rounds':>17} {'rows/s':>7} "
          f"{'vs local':>9} {'outside windows s':>18} {'extra/shard s':>14}")
    for n in names:
        each = "/".join(f"{r['wall_s']:.1f}" for r in runs[n])
        extra = (f"{(other[n] - other['local']) / n_shards:>14.3f}" if n == "ray-1-node"
                 else f"{'':>14}")
        print(f"{n:<12} {runs[n][0]['nodes']:>5} {wall[n]:>8.1f} {each:>17} "
              f"{rows / wall[n]:>7.3f} {wall[n] / wall['local']:>8.3f}x {other[n]:>18.1f} "
              f"{extra}")
    print(f"two nodes vs one: {wall['ray-1-node'] / wall['ray-2-node']:.2f}x faster "
          f"(ideal 2x; the two nodes share this machine's {info.logical_cpus} CPUs)")
    energy = {n: {m: statistics.fmean(r["energy"][m] for r in runs[n])
                  for m in runs["local"][0]["energy"]} for n in names}
    print("\nenergy per second of audio (J/s), mean over utterances and rounds; ratio to local")
    print(f"{'model':<12} " + " ".join(f"{n:>20}" for n in names))
    for model in energy["local"]:
        cells = [f"{energy[n][model]:>10.3f} ({energy[n][model] / energy['local'][model]:.3f}x)"
                 for n in names]
        print(f"{model:<12} " + " ".join(f"{c:>20}" for c in cells))
    print("\nenergy method: " + "; ".join(
        f"{n}: {', '.join(sorted({m for r in runs[n] for m in r['method']}))}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
