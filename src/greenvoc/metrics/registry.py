"""The metrics greenvoc knows, keyed by name, in the order tables list them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from greenvoc.errors import UsageError
from greenvoc.metrics import cepstral, dnsmos, intelligibility, pitch, spectral, speech_quality
from greenvoc.metrics.base import Metric

_FAMILIES = (dnsmos, speech_quality, intelligibility, cepstral, spectral, pitch)

#: name → :class:`Metric`, read-only.
METRICS: Mapping[str, Metric] = MappingProxyType(
    {m.name: m for family in _FAMILIES for m in family.METRICS}
)


def metric_names() -> tuple[str, ...]:
    return tuple(METRICS)


def get_metric(name: str) -> Metric:
    """The metric called ``name``; :class:`UsageError` listing the valid names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise UsageError(
            f"unknown metric {name!r}; valid: {', '.join(METRICS)}"
        ) from None


def resolve_metrics(names: str | Iterable[str | Metric] | None = None) -> tuple[Metric, ...]:
    """Metrics from a comma-separated string, an iterable of names/metrics, or ``None`` (all).

    Duplicates are dropped, order is kept; unknown names raise :class:`UsageError`.
    """
    if names is None:
        return tuple(METRICS.values())
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    chosen: dict[str, Metric] = {}
    for item in names:
        metric = item if isinstance(item, Metric) else get_metric(item)
        chosen.setdefault(metric.name, metric)
    if not chosen:
        raise UsageError(f"no metric given; valid: {', '.join(METRICS)}")
    return tuple(chosen.values())
