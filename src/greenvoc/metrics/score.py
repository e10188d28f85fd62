"""Score estimates against references: one pair, or two folders over a process pool.

``score_pair`` → :class:`FileScore`; ``score_folders`` → a list of them (sorted by name);
``summarize`` → per metric the mean, the half-width of its 95 % confidence interval (Student t:
``t_{0.975, n−1} · s / √n``, s the sample standard deviation) and n. A failed metric (or file)
is left out of the mean and counted in ``n_failed``: it never enters as a sentinel value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from greenvoc.errors import UsageError
from greenvoc.metrics.base import Metric
from greenvoc.metrics.pairing import (
    MAX_LENGTH_DIFF_S,
    MAX_OFFSET_SAMPLES,
    PairError,
    align,
    audio_files,
    check_lengths,
    common_rate,
    load_signal,
)
from greenvoc.metrics.registry import resolve_metrics


@dataclass(frozen=True)
class FileScore:
    """The scores of one estimate file.

    metrics: name → value, ``None`` where the metric failed (reason in ``errors``).
    error: why the whole file could not be scored (unreadable, silent, unmatched...), else None.
    offset_samples: alignment shift at ``sample_rate`` (> 0: the estimate was late), None if
    not aligned. duration_s: length of the aligned pair. notes: mix-downs, resampling.
    """

    name: str
    metrics: dict[str, float | None]
    errors: dict[str, str] = field(default_factory=dict)
    offset_samples: int | None = None
    error: str | None = None
    sample_rate: int | None = None
    duration_s: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name, "metrics": dict(self.metrics), "error": self.error,
            "metric_errors": dict(self.errors), "offset_samples": self.offset_samples,
            "sample_rate": self.sample_rate, "duration_s": self.duration_s,
            "notes": list(self.notes),
        }


class MetricSummary(NamedTuple):
    """mean; ci95: half-width of the t-based 95 % CI (NaN for n < 2); n scored; n_failed."""

    mean: float
    ci95: float
    n: int
    n_failed: int


def _compute(metrics: Sequence[Metric], est, ref, sample_rate: int):
    values: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    groups: dict[str, dict | Exception] = {}
    for metric in metrics:
        if metric.group not in groups:
            try:
                groups[metric.group] = dict(metric.compute_group(est, ref, sample_rate))
            except Exception as e:  # any library failure is this metric's, not the run's
                groups[metric.group] = e
        result = groups[metric.group]
        value = result if isinstance(result, Exception) else result[metric.name]
        if isinstance(value, Exception):
            values[metric.name] = None
            errors[metric.name] = f"{type(value).__name__}: {value}"
        elif not math.isfinite(float(value)):
            values[metric.name] = None
            errors[metric.name] = f"non-finite value {value}"
        else:
            values[metric.name] = float(value)
    return values, errors


def score_pair(
    est_path: str | Path,
    ref_path: str | Path,
    metrics: str | Iterable[str | Metric] | None = None,
    *,
    name: str | None = None,
    max_offset_samples: int = MAX_OFFSET_SAMPLES,
    max_length_diff_s: float = MAX_LENGTH_DIFF_S,
) -> FileScore:
    """Score the estimate file against the reference file with ``metrics`` (default: all).

    Both are loaded mono at the lower of their rates; lengths that differ by more than
    ``max_length_diff_s`` are a file error naming both; then the pair is aligned
    (cross-correlation within ±``max_offset_samples``, then trimmed to the shorter). Intrusive
    metrics get the aligned pair; non-intrusive ones the whole estimate. Never raises for bad
    audio: the reason is in ``FileScore.error`` (whole file) or ``FileScore.errors`` (one
    metric).
    """
    chosen = resolve_metrics(metrics)
    name = name or Path(est_path).name
    empty = {m.name: None for m in chosen}
    try:
        est, ref, notes = common_rate(load_signal(est_path), load_signal(ref_path))
        check_lengths(est, ref, max_length_diff_s)
        est_aligned, ref_aligned, offset = align(est.samples, ref.samples, max_offset_samples)
    except PairError as e:
        return FileScore(name, empty, error=str(e))
    rate = est.sample_rate
    intrusive = [m for m in chosen if m.needs_reference]
    blind = [m for m in chosen if not m.needs_reference]
    values, errors = _compute(intrusive, est_aligned, ref_aligned, rate)
    blind_values, blind_errors = _compute(blind, est.samples, None, rate)
    values.update(blind_values)
    errors.update(blind_errors)
    return FileScore(
        name, {m.name: values[m.name] for m in chosen}, errors, offset, None, rate,
        len(est_aligned) / rate, tuple(est.notes + ref.notes) + tuple(notes),
    )


def pair_paths(ref: str | Path, est: str | Path) -> tuple[list[tuple[str, Path, Path]], list]:
    """Matched (name, est_path, ref_path) triples, and FileScores for the unmatched files.

    REF and EST are two files or two folders (matched by relative path without suffix).
    Raises :class:`UsageError` when they are neither, or when no file matches.
    """
    ref, est = Path(ref), Path(est)
    for path in (ref, est):
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if ref.is_file() and est.is_file():
        return [(est.name, est, ref)], []
    if not (ref.is_dir() and est.is_dir()):
        raise UsageError(f"--ref and --est must be two files or two folders: {ref}, {est}")
    refs, ests = audio_files(ref), audio_files(est)
    matched = sorted(set(refs) & set(ests))
    if not matched:
        raise UsageError(
            f"no file of {est} ({len(ests)} audio files) has a namesake in {ref} "
            f"({len(refs)} audio files); files are matched by name without suffix"
        )
    unmatched = [FileScore(k, {}, error=f"{ests[k]}: no reference named {k}.* in {ref}")
                 for k in sorted(set(ests) - set(refs))]
    unmatched += [FileScore(k, {}, error=f"{refs[k]}: no estimate named {k}.* in {est}")
                  for k in sorted(set(refs) - set(ests))]
    return [(k, ests[k], refs[k]) for k in matched], unmatched


def _init_worker(threads: int) -> None:
    # torch reads OMP_NUM_THREADS when it is first imported (lazily, by the metrics that use it)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from greenvoc.metrics import dnsmos

    dnsmos.set_onnx_threads(threads)


def _task(name: str, est: str, ref: str, metric_names: tuple[str, ...], max_offset: int,
          max_length_diff_s: float):
    return score_pair(est, ref, metric_names, name=name, max_offset_samples=max_offset,
                      max_length_diff_s=max_length_diff_s)


def score_folders(
    ref: str | Path,
    est: str | Path,
    metrics: str | Iterable[str | Metric] | None = None,
    workers: int = 2,
    progress: bool = True,
    max_offset_samples: int = MAX_OFFSET_SAMPLES,
    max_length_diff_s: float = MAX_LENGTH_DIFF_S,
) -> list[FileScore]:
    """Score every estimate in EST against its namesake in REF (two folders, or two files).

    workers: processes; 1 scores in this process, more use a spawn-safe ProcessPoolExecutor
    whose workers each run ``cpu_count // workers`` threads and hold their own ONNX sessions
    and models. ``max_length_diff_s``: see :func:`score_pair`. Progress goes to stderr
    (rich). Returns FileScores sorted by name, unmatched files included with their error.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from rich.console import Console
    from rich.progress import Progress

    chosen = resolve_metrics(metrics)
    names = tuple(m.name for m in chosen)
    pairs, unmatched = pair_paths(ref, est)
    results = [replace(u, metrics=dict.fromkeys(names)) for u in unmatched]
    bar = Progress(console=Console(stderr=True), transient=True, disable=not progress)
    with bar:
        task = bar.add_task("scoring", total=len(pairs))
        if workers <= 1 or len(pairs) == 1:
            for name, est_path, ref_path in pairs:
                results.append(score_pair(est_path, ref_path, chosen, name=name,
                                          max_offset_samples=max_offset_samples,
                                          max_length_diff_s=max_length_diff_s))
                bar.advance(task)
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(workers, get_context("spawn"), _init_worker,
                                     (threads,)) as pool:
                futures = {pool.submit(_task, n, str(e), str(r), names, max_offset_samples,
                                       max_length_diff_s): n
                           for n, e, r in pairs}
                for future in as_completed(futures):
                    try:
                        results.append(future.result())
                    except Exception as e:  # a crashed worker: that file fails, not the run
                        results.append(FileScore(futures[future], dict.fromkeys(names),
                                                 error=f"worker failed: {e!r}"))
                    bar.advance(task)
    return sorted(results, key=lambda s: s.name)


def summarize(scores: Iterable[FileScore]) -> dict[str, MetricSummary]:
    """Per metric: mean over the files where it succeeded, t-based 95 % CI half-width, n, and
    the number of files where it failed (file-level failures included)."""
    from scipy import stats

    scores = list(scores)
    names = list(dict.fromkeys(k for s in scores for k in s.metrics))
    summary = {}
    for name in names:
        values = np.array([s.metrics[name] for s in scores if s.metrics.get(name) is not None])
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        ci95 = math.nan
        if n >= 2:
            ci95 = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
        summary[name] = MetricSummary(mean, ci95, n, len(scores) - n)
    return summary
