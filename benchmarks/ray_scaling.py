"""The same sweep with the local executor and with Ray on one and two nodes of this machine.

Prints, side by side from one run: wall time, rows per second, Ray's per-shard overhead over the
local executor, and energy per second of audio per model and executor (with the ratio to the
local executor). Goals (issue 13): Ray on one node within 5 % of the local executor's wall time
on a sweep of at least a minute; energy per audio second equal across executors within noise.

Each executor writes to its own database on one real PostgreSQL server (a run is keyed by its
configuration, so a shared database would resume the first executor's run instead of measuring).
Every worker uses ``--threads`` torch threads; the two-node cluster has one CPU per node, so it
measures two rows at a time on this 2-core machine.

    python benchmarks/ray_scaling.py [--models a,b,c,d] [--utterances 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from greenvoc.audio.io import save_audio
from greenvoc.bench import plan, run_bench
from greenvoc.energy.tdp import cpu_info
from greenvoc.store import ResultStore
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
    p = plan(args.models, corpus=str(corpus), metrics="none", cost_only_limit=args.utterances,
             threads=args.threads, idle_s=1.0)
    store = ResultStore(db)
    t0 = time.monotonic()
    summary = run_bench(p, store, out / name, progress=False, executor=executor,
                        ray_address=address)
    wall_s = time.monotonic() - t0
    _, rows = load_result_rows(db, summary.run_id)
    per_model = {}
    for r in rows:
        per_model.setdefault(r["model"], []).append(r["energy_j_per_audio_s"])
    return {"name": name, "wall_s": wall_s, "rows": summary.rows_written,
            "failed": summary.rows_failed, "nodes": len(summary.rows_per_node),
            "energy": {m: statistics.fmean(v) for m, v in per_model.items()},
            "method": sorted({r["energy_method"] for r in rows})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="hifigan-v2,hifigan-v3,melgan,mb-melgan")
    ap.add_argument("--utterances", type=int, default=8)
    ap.add_argument("--duration-s", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        print("PostgreSQL's server is not installed (apt-get install postgresql)", file=sys.stderr)
        return 2
    from ray.cluster_utils import Cluster

    info = cpu_info()
    print(f"CPU: {info.model_name} ({info.logical_cpus} logical CPUs, {_cpu_flags()}); "
          f"torch threads per worker: {args.threads}; energy: see 'method' below")
    with tempfile.TemporaryDirectory() as tmp, postgres_server(bin_dir, tcp=True) as url:
        base = Path(tmp)
        corpus = _corpus(base / "corpus", args.utterances, args.duration_s)
        results = [_sweep("local", "local", None, _database(url, "local_exec"), args, corpus,
                          base)]
        for n_nodes in (1, 2):
            cluster = Cluster(initialize_head=True, head_node_args={
                "num_cpus": 2 if n_nodes == 1 else 1, "object_store_memory": 80 * 2**20})
            for _ in range(n_nodes - 1):
                cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
            cluster.wait_for_nodes()
            try:
                results.append(_sweep(f"ray-{n_nodes}-node", "ray", cluster.address,
                                      _database(url, f"ray{n_nodes}"), args, corpus, base))
            finally:
                cluster.shutdown()
    local = results[0]
    n_shards = len(args.models.split(",")) * -(-args.utterances // 4)
    print(f"\n{len(args.models.split(','))} models × {args.utterances} utterances of "
          f"{args.duration_s:g} s = {local['rows']} rows per executor\n")
    print(f"{'executor':<12} {'nodes':>5} {'wall s':>8} {'rows/s':>7} {'vs local':>9} "
          f"{'overhead/shard s':>17} {'failed':>6}")
    for r in results:
        print(f"{r['name']:<12} {r['nodes']:>5} {r['wall_s']:>8.1f} "
              f"{r['rows'] / r['wall_s']:>7.3f} {r['wall_s'] / local['wall_s']:>8.3f}x "
              f"{(r['wall_s'] - local['wall_s']) / n_shards:>17.2f} {r['failed']:>6}")
    print("\nenergy per second of audio (J/s), mean over utterances; ratio to local")
    print(f"{'model':<12} " + " ".join(f"{r['name']:>20}" for r in results))
    for model in local["energy"]:
        cells = [f"{r['energy'][model]:>10.3f} ({r['energy'][model] / local['energy'][model]:.3f}x)"
                 for r in results]
        print(f"{model:<12} " + " ".join(f"{c:>20}" for c in cells))
    print("\nenergy method: " + "; ".join(f"{r['name']}: {', '.join(r['method'])}"
                                          for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
