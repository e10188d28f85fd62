"""Harness overhead of ``greenvoc bench``: sweep wall time against the synthesis it measures.

    python benchmarks/bench_overhead.py [--model hifigan-v2] [--clips 4]

Builds a corpus of 1 s real-speech clips (cut from the CMU ARCTIC recording that pysptk ships),
then runs sweeps over 1×, 2× and 4× ``--clips`` utterances (no quality metrics, so the harness
alone is measured: audio loading, mel, meter windows, writing wavs, database commits). Prints
wall time, the summed synthesis time, their ratio (the harness overhead) and how wall time grows
with the number of utterances (ideal: linearly, with a fixed start-up cost).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import tempfile
import time
from pathlib import Path

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.bench import plan, run_bench
from greenvoc.store import ResultStore


def make_corpus(folder: Path, n: int) -> Path:
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    wave = load_audio(root / "example_audio_data" / "arctic_a0007.wav", sample_rate=22050).samples
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        start = (i * 5513) % (len(wave) - 22050)
        save_audio(folder / f"clip{i:03d}.wav", wave[start : start + 22050], 22050)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hifigan-v2")
    parser.add_argument("--clips", type=int, default=4)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"{'utterances':>10} {'wall s':>8} {'synthesis s':>12} {'wall/synth':>11} "
          f"{'wall per utt s':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        walls = {}
        # A first, discarded sweep pays the one-off costs of the process (imports, registry
        # discovery, first mel basis) that would otherwise land on the 1× point.
        warm = make_corpus(base / "warm", 1)
        run_bench(plan(args.model, corpus=str(warm), metrics=[], idle_s=0.1),
                  ResultStore(f"sqlite:///{base / 'warm.db'}"), base / "warm-audio",
                  progress=False)
        for factor in (1, 2, 4):
            n = args.clips * factor
            corpus = make_corpus(base / f"corpus{n}", n)
            store = ResultStore(f"sqlite:///{base / f'r{n}.db'}")
            p = plan(args.model, corpus=str(corpus), metrics=[], cost_only_limit=None,
                     idle_s=0.5)
            t0 = time.monotonic()
            summary = run_bench(p, store, base / f"audio{n}", progress=False)
            wall = time.monotonic() - t0
            walls[n] = wall
            print(f"{n:10d} {wall:8.2f} {summary.synthesis_s:12.2f} "
                  f"{wall / summary.synthesis_s:11.2f} {wall / n:15.3f}", flush=True)
    ns = sorted(walls)
    mean_n, mean_w = sum(ns) / len(ns), sum(walls.values()) / len(ns)
    slope = sum((n - mean_n) * (walls[n] - mean_w) for n in ns) / sum(
        (n - mean_n) ** 2 for n in ns)  # least squares over the three sweeps
    print(f"marginal cost per utterance {slope:.3f} s; fixed start-up "
          f"{mean_w - slope * mean_n:.2f} s (model load, warm-up, 0.5 s idle window)")


if __name__ == "__main__":
    main()
