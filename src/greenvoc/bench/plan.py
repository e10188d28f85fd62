"""What a sweep will do, decided before anything runs, and recorded with the run."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

from greenvoc import __version__
from greenvoc.audio.corpus import Corpus, Utterance
from greenvoc.audio.formats import open_corpus
from greenvoc.errors import UsageError
from greenvoc.metrics.registry import resolve_metrics
from greenvoc.quantize import get_variant
from greenvoc.vocoders import get_spec, list_specs
from greenvoc.vocoders.registry import has_usable_weights

#: Metrics computed by default: the full suite of greenvoc.metrics.
DEFAULT_METRICS: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BenchConfig:
    """Everything that defines a run: the same config resumes the same run."""

    models: tuple[str, ...]
    variants: tuple[str, ...] = ("fp32",)
    corpus: str = "default"
    limit: int | None = None
    cost_only_limit: int | None = 2
    cost_only_max_s: float | None = None
    device: str = "cpu"
    threads: int | None = None
    repeat: int = 1
    metrics: tuple[str, ...] = ()
    seed: int = 0
    warmup: bool = True
    idle_s: float = 2.0
    #: utterances whose mels calibrate int8 variants (the first by id; recorded)
    calibration_utterances: int = 2
    calibration_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self) | {"greenvoc": __version__}


@dataclass(frozen=True)
class PlanItem:
    model: str
    variant: str
    utterances: tuple[Utterance, ...]
    has_weights: bool


@dataclass(frozen=True)
class Plan:
    config: BenchConfig
    corpus: Corpus
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    @property
    def n_rows(self) -> int:
        return sum(len(i.utterances) for i in self.items)


def _resolve_models(models: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(models, str):
        names = [m.strip() for m in models.split(",") if m.strip()]
    else:
        names = list(models)
    if names == ["all"]:
        return tuple(s.name for s in list_specs())
    for name in names:
        get_spec(name)  # UsageError listing the valid names
    return tuple(dict.fromkeys(names))


def plan(
    models: str | tuple[str, ...],
    variants: str | tuple[str, ...] = ("fp32",),
    corpus: str = "default",
    limit: int | None = None,
    metrics: str | tuple[str, ...] | None = DEFAULT_METRICS,
    **options,
) -> Plan:
    """Resolve names, open the corpus, and list the rows the sweep will produce.

    Models without weights are measured for cost on at most ``cost_only_limit`` utterances,
    cut to their first ``cost_only_max_s`` seconds if set (energy is normalised per second of
    audio, so a shorter excerpt measures the same rate at a fraction of the time).
    """
    names = _resolve_models(models)
    variant_names = tuple(variants.split(",")) if isinstance(variants, str) else tuple(variants)
    for v in variant_names:
        ok, why = get_variant(v).available()  # unknown → UsageError listing the variants
        if not ok:
            raise UsageError(f"variant {v!r} cannot run here: {why}")
    no_metrics = metrics == "none" or (metrics is not None and not isinstance(metrics, str)
                                        and len(metrics) == 0)
    metric_names = () if no_metrics else tuple(m.name for m in resolve_metrics(metrics))
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    opened = open_corpus(corpus)
    utterances = tuple(sorted(opened.utterances, key=lambda u: u.id))[:limit]
    config = BenchConfig(names, variant_names, corpus, limit, metrics=metric_names, **options)
    if config.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {config.repeat}")
    n_cal = min(config.calibration_utterances, len(opened.utterances))
    # Calibrate quantized variants on utterances the sweep does not score where the corpus has
    # them (those past --limit, then synthetic ones), so quality is judged on held-out audio.
    tested = {u.id for u in utterances}
    calibration = tuple(u.id for u in sorted(
        opened.utterances, key=lambda u: (u.id in tested, not u.synthetic, u.id))[:n_cal])
    config = dataclasses.replace(config, calibration_ids=calibration)
    items = []
    for name in names:
        weights = has_usable_weights(get_spec(name))
        utts = utterances if weights else utterances[: config.cost_only_limit]
        items.extend(PlanItem(name, v, utts, weights) for v in variant_names)
    return Plan(config, opened, tuple(items))
