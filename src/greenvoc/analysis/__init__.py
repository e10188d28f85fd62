"""Quality vs energy: Pareto fronts, efficiency, bootstrap confidence, the HTML report.

Input: *result rows*, dicts written by the benchmark, one per model × variant × utterance, with
keys ``run``, ``model``, ``variant``, ``family``, ``utterance``, ``audio_s``, ``compute_s``,
``rtf``, ``energy_j``, ``energy_j_per_audio_s``, ``energy_net_j_per_audio_s`` (may be None),
``energy_measured``, ``energy_method``, ``params``, ``bytes_on_disk``, ``macs_per_audio_s``,
``peak_rss_bytes``, ``has_weights``, ``error``, ``hardware`` (the class that measured it; None
before schema v5) and one column per quality metric (registry name).

- :func:`aggregate`: rows → one :class:`Point` per (model, variant), means and 95 % CIs.
- :func:`pareto_front`, :func:`pareto_ranks`, :func:`hypervolume`: 2 or 3 objectives, directions
  from :mod:`greenvoc.analysis.objectives` (metrics declare their own).
- :func:`fdh_efficiency`, :func:`quality_per_cost`: see :mod:`greenvoc.analysis.efficiency`.
- :func:`analyze`: all of it for one quality and one cost, with a paired bootstrap.
- :func:`compare_hardware`: one front per hardware class, and each model's energy and RTF ratio
  between classes (one run, or several runs of the same corpus and metrics).
- :func:`decide`: which vocoder? The cheapest ranked model meeting each quality level of the
  front, a user's quality floor or energy budget, and how sure that is.
- :func:`render_report`: HTML (decision first, interactive and offline) + PNG + CSV (imports
  matplotlib lazily).
"""

from greenvoc.analysis.aggregate import Point, aggregate
from greenvoc.analysis.by_hardware import HardwareComparison, compare_hardware
from greenvoc.analysis.decision import Decision, decide
from greenvoc.analysis.efficiency import EFFICIENCY_FORMULA, fdh_efficiency, quality_per_cost
from greenvoc.analysis.objectives import COST_OBJECTIVES, Objective, get_objective
from greenvoc.analysis.pareto import (
    hypervolume,
    nondominated_ranks,
    pareto_front,
    pareto_ranks,
    reference_point,
)
from greenvoc.analysis.study import ModelResult, ParetoAnalysis, analyze


def render_report(*args, **kwargs):
    """See :func:`greenvoc.analysis.report.render_report` (imported lazily: matplotlib)."""
    from greenvoc.analysis.report import render_report as _render

    return _render(*args, **kwargs)


__all__ = [
    "COST_OBJECTIVES",
    "EFFICIENCY_FORMULA",
    "Decision",
    "HardwareComparison",
    "ModelResult",
    "Objective",
    "ParetoAnalysis",
    "Point",
    "aggregate",
    "analyze",
    "compare_hardware",
    "decide",
    "fdh_efficiency",
    "get_objective",
    "hypervolume",
    "nondominated_ranks",
    "pareto_front",
    "pareto_ranks",
    "quality_per_cost",
    "reference_point",
    "render_report",
]
