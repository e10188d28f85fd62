"""Objective quality and predicted MOS, one module per metric family.

- :mod:`~greenvoc.metrics.base`: the :class:`Metric` declaration (name, direction, rate, range...)
- :mod:`~greenvoc.metrics.registry`: ``METRICS``, ``get_metric``, ``resolve_metrics``
- families: :mod:`~greenvoc.metrics.dnsmos` (DNSMOS P.835/P.808),
  :mod:`~greenvoc.metrics.speech_quality` (PESQ), :mod:`~greenvoc.metrics.intelligibility`
  (STOI/ESTOI), :mod:`~greenvoc.metrics.cepstral` (MCD), :mod:`~greenvoc.metrics.spectral`
  (mel L1, multi-resolution STFT), :mod:`~greenvoc.metrics.pitch` (F0 RMSE, V/UV F1,
  periodicity; CREPE in :mod:`~greenvoc.metrics.crepe`)
- :mod:`~greenvoc.metrics.pairing` and :mod:`~greenvoc.metrics.score`: load, align, score
  files and folders, summarise with confidence intervals.
"""

from greenvoc.metrics.base import Metric, MetricError
from greenvoc.metrics.registry import METRICS, get_metric, metric_names, resolve_metrics
from greenvoc.metrics.score import (
    FileScore,
    MetricSummary,
    score_folders,
    score_pair,
    summarize,
)

__all__ = [
    "METRICS",
    "FileScore",
    "Metric",
    "MetricError",
    "MetricSummary",
    "get_metric",
    "metric_names",
    "resolve_metrics",
    "score_folders",
    "score_pair",
    "summarize",
]
