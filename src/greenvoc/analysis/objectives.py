"""What the analysis may optimise: cost columns declared here, quality read from the metrics.

An :class:`Objective` is a result-row column with a direction. Cost columns are declared in
:data:`COST_OBJECTIVES` (all lower-is-better, with units). Quality objectives are the metrics of
:mod:`greenvoc.metrics.registry` (their direction is ``Metric.higher_is_better``, never guessed
from the name) and the human ratings of :data:`HUMAN_OBJECTIVES`, which
:func:`greenvoc.analysis.runs.load_run` attaches from the listening tests of the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from greenvoc.errors import UsageError


@dataclass(frozen=True)
class Objective:
    """One column of a result row that the analysis can rank on.

    name: the row key. higher_is_better: direction. unit: printed unit. kind: ``"cost"`` or
    ``"quality"``. label: axis/table label.
    """

    name: str
    higher_is_better: bool
    unit: str
    kind: str
    label: str
    #: (worst, best) ends of the scale where it is bounded and not a metric's (human ratings)
    range: tuple[float, float] | None = None

    @property
    def sign(self) -> float:
        """Multiply a value by this to get a quantity to *minimise*."""
        return -1.0 if self.higher_is_better else 1.0

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def to_dict(self) -> dict:
        return {"name": self.name, "higher_is_better": self.higher_is_better,
                "unit": self.unit, "kind": self.kind, "label": self.label}


def _cost(name: str, unit: str, label: str) -> Objective:
    return Objective(name, False, unit, "cost", label)


#: Cost columns of a result row, every one lower-is-better.
COST_OBJECTIVES: Mapping[str, Objective] = MappingProxyType({
    o.name: o for o in (
        _cost("energy_j_per_audio_s", "J/s", "energy per audio second"),
        _cost("energy_net_j_per_audio_s", "J/s", "energy above idle per audio second"),
        _cost("rtf", "s/s", "real-time factor (compute s per audio s)"),
        _cost("params", "parameters", "parameters"),
        _cost("bytes_on_disk", "B", "bytes on disk"),
        _cost("macs_per_audio_s", "MAC/s", "MACs per audio second"),
        _cost("peak_rss_bytes", "B", "peak resident memory"),
    )
})


#: Quality columns rated by people (``greenvoc listen``), not computed by a metric.
HUMAN_OBJECTIVES: Mapping[str, Objective] = MappingProxyType({
    o.name: o for o in (
        Objective("human_mos", True, "MOS 1–5", "quality", "human MOS (P.808 ACR)", (1.0, 5.0)),
        Objective("human_mushra", True, "MUSHRA 0–100", "quality",
                  "human MUSHRA score (BS.1534)", (0.0, 100.0)),
    )
})


def _quality_objectives() -> dict[str, Objective]:
    from greenvoc.metrics.registry import METRICS

    metrics = {
        m.name: Objective(m.name, m.higher_is_better, m.unit, "quality", m.name)
        for m in METRICS.values()
    }
    return metrics | dict(HUMAN_OBJECTIVES)


def objective_names(kind: str | None = None) -> tuple[str, ...]:
    """Valid names: ``kind`` ``"cost"``, ``"quality"`` or ``None`` (both)."""
    names: list[str] = []
    if kind in (None, "cost"):
        names += list(COST_OBJECTIVES)
    if kind in (None, "quality"):
        names += list(_quality_objectives())
    return tuple(names)


def get_objective(name: str | Objective, kind: str | None = None) -> Objective:
    """The objective called ``name``; :class:`UsageError` listing the valid names otherwise.

    ``kind`` restricts the lookup to cost or quality columns (for ``--cost`` / ``--quality``).
    """
    if isinstance(name, Objective):
        return name
    table: dict[str, Objective] = {}
    if kind in (None, "cost"):
        table.update(COST_OBJECTIVES)
    if kind in (None, "quality"):
        table.update(_quality_objectives())
    if name not in table:
        what = {"cost": "cost column", "quality": "quality metric"}.get(kind or "", "column")
        raise UsageError(f"unknown {what} {name!r}; valid: {', '.join(table)}")
    return table[name]


def resolve_objectives(names: Iterable[str | Objective]) -> tuple[Objective, ...]:
    """Objectives for 2 or 3 names; :class:`UsageError` for another count or a repeat."""
    objectives = tuple(get_objective(n) for n in names)
    if len(objectives) not in (2, 3):
        raise UsageError(f"a Pareto front needs 2 or 3 objectives, got {len(objectives)}")
    if len({o.name for o in objectives}) != len(objectives):
        raise UsageError(f"objectives repeat: {', '.join(o.name for o in objectives)}")
    return objectives
