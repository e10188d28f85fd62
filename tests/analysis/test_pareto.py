"""Pareto front, non-dominated sorting and hypervolume: invariants checked with hypothesis."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenvoc.analysis import hypervolume, pareto_front, pareto_ranks, reference_point
from greenvoc.analysis.pareto import dominance_matrix, objective_matrix
from greenvoc.errors import UsageError

#: Enough examples to find ties, no deadline: shared CI machines are slow.
PROPERTY = settings(max_examples=50, deadline=None)

OBJ2 = ("dnsmos_ovrl", "energy_j_per_audio_s")  # ↑, ↓
OBJ3 = ("dnsmos_ovrl", "energy_j_per_audio_s", "mcd_db")  # ↑, ↓, ↓

# small integer grids make ties (equal quality, equal cost, duplicate points) likely
grid = st.integers(0, 6).map(float)
point2 = st.fixed_dictionaries({"dnsmos_ovrl": grid, "energy_j_per_audio_s": grid})
point3 = st.fixed_dictionaries(
    {"dnsmos_ovrl": grid, "energy_j_per_audio_s": grid, "mcd_db": grid})
sets = st.one_of(
    st.tuples(st.just(OBJ2), st.lists(point2, min_size=1, max_size=25)),
    st.tuples(st.just(OBJ3), st.lists(point3, min_size=1, max_size=15)),
)


def dominates(a, b, objectives) -> bool:
    m = objective_matrix([a, b], _resolve(objectives))
    return bool(np.all(m[0] <= m[1]) and np.any(m[0] < m[1]))


def _resolve(objectives):
    from greenvoc.analysis.objectives import resolve_objectives

    return resolve_objectives(objectives)


@PROPERTY
@given(sets)
def test_front_members_are_not_dominated(case):
    objectives, points = case
    front = pareto_front(points, objectives)
    assert front
    for f in front:
        assert not any(dominates(p, f, objectives) for p in points)


@PROPERTY
@given(sets)
def test_every_other_point_is_dominated_by_a_front_member(case):
    objectives, points = case
    front = pareto_front(points, objectives)
    for p in points:
        if not any(p is f for f in front):
            assert any(dominates(f, p, objectives) for f in front)


@PROPERTY
@given(sets, st.randoms(use_true_random=False))
def test_front_and_ranks_do_not_depend_on_order(case, rnd):
    objectives, points = case
    shuffled = list(points)
    rnd.shuffle(shuffled)
    assert {id(p) for p in pareto_front(points, objectives)} == \
        {id(p) for p in pareto_front(shuffled, objectives)}
    by_id = dict(zip(map(id, points), pareto_ranks(points, objectives), strict=True))
    for p, r in zip(shuffled, pareto_ranks(shuffled, objectives), strict=True):
        assert by_id[id(p)] == r


@PROPERTY
@given(sets)
def test_ranks_are_layers(case):
    objectives, points = case
    ranks = pareto_ranks(points, objectives)
    dom = dominance_matrix(objective_matrix(points, _resolve(objectives)))
    for j, rj in enumerate(ranks):
        # a rank-k point (k > 1) is dominated by some rank k-1 point, by none of rank ≥ k
        dominators = [ranks[i] for i in range(len(points)) if dom[i, j]]
        assert all(r < rj for r in dominators)
        if rj > 1:
            assert rj - 1 in dominators


def test_missing_values_are_left_out():
    points = [{"dnsmos_ovrl": None, "energy_j_per_audio_s": 0.1},
              {"dnsmos_ovrl": 3.0, "energy_j_per_audio_s": float("nan")},
              {"dnsmos_ovrl": 2.0, "energy_j_per_audio_s": 5.0}]
    assert pareto_ranks(points, OBJ2) == [None, None, 1]


def brute_hv(points, objectives, reference) -> int:
    """Count unit cells dominated (integer coordinates), in minimisation space."""
    objs = _resolve(objectives)
    m = objective_matrix(points, objs)
    ref = np.array(reference) * np.array([o.sign for o in objs])
    lo = np.minimum(m.min(axis=0), ref).astype(int)
    count = 0
    for cell in itertools.product(*(range(a, int(r)) for a, r in zip(lo, ref, strict=True))):
        if np.any(np.all(m <= np.array(cell), axis=1)):
            count += 1
    return count


REF2 = (-1.0, 7.0)            # quality below every point, cost above
REF3 = (-1.0, 7.0, 7.0)


@PROPERTY
@given(sets)
def test_hypervolume_is_exact(case):
    objectives, points = case
    ref = REF2 if len(objectives) == 2 else REF3
    assert hypervolume(points, objectives, ref) == pytest.approx(brute_hv(points, objectives, ref))


@PROPERTY
@given(sets, st.one_of(point3))
def test_hypervolume_grows_when_a_point_is_added(case, extra):
    objectives, points = case
    ref = REF2 if len(objectives) == 2 else REF3
    before = hypervolume(points, objectives, ref)
    after = hypervolume([*points, extra], objectives, ref)
    assert after >= before
    same = [all(p[o] == extra[o] for o in objectives) for p in points]
    if not any(dominates(p, extra, objectives) or s for p, s in zip(points, same, strict=True)) \
            and all(
            (extra[o] > r) if i == 0 else (extra[o] < r)
            for i, (o, r) in enumerate(zip(objectives, ref, strict=True))):
        assert after > before  # a new non-dominated point inside the box adds volume


def test_hypervolume_known_values_and_reference():
    pts = [{"dnsmos_ovrl": 3.0, "energy_j_per_audio_s": 1.0},
           {"dnsmos_ovrl": 4.0, "energy_j_per_audio_s": 2.0}]
    # box to ref (1.0 MOS, 4 J/s): [1,4]x[1,3] ∪ [2,4]x[1,4] = 2*3 + 2*1 = 8
    assert hypervolume(pts, OBJ2, (1.0, 4.0)) == pytest.approx(8.0)
    assert hypervolume(pts, OBJ2, (5.0, 4.0)) == 0.0  # nothing better than the reference
    with pytest.raises(UsageError):
        hypervolume(pts, OBJ2, (1.0,))
    ref = reference_point([pts, [{"dnsmos_ovrl": 2.0, "energy_j_per_audio_s": 3.0}]], OBJ2)
    assert ref[0] < 2.0 and ref[1] > 3.0


def test_quantized_zoo_can_beat_fp32_zoo():
    fp32 = [{"dnsmos_ovrl": 3.4, "energy_j_per_audio_s": 10.0},
            {"dnsmos_ovrl": 3.0, "energy_j_per_audio_s": 4.0}]
    quant = [{"dnsmos_ovrl": 3.35, "energy_j_per_audio_s": 5.0},
             {"dnsmos_ovrl": 2.95, "energy_j_per_audio_s": 2.0}]
    ref = reference_point([fp32, quant], OBJ2)
    assert hypervolume(quant, OBJ2, ref) > hypervolume(fp32, OBJ2, ref)
    assert hypervolume(fp32 + quant, OBJ2, ref) >= hypervolume(quant, OBJ2, ref)
