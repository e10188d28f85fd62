"""The benchmark: plan a sweep (model × variant × utterance), run it resumably, store rows."""

from greenvoc.bench.plan import BenchConfig, Plan, plan
from greenvoc.bench.runner import run_bench

__all__ = ["BenchConfig", "Plan", "plan", "run_bench"]
