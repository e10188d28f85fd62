"""Building a study from a benchmark run: stimuli, levels, anchor, YAML, balanced orders."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import yaml

from greenvoc.audio.io import load_audio
from greenvoc.errors import DataFileError, UsageError
from greenvoc.listen import stimuli as sx
from greenvoc.listen.build import create_study
from greenvoc.listen.records import ANCHOR_LOWPASS_3K5, REFERENCE
from greenvoc.listen.study import load_study, rater_plan
from tests.listen.fixtures import make_run, make_study


@pytest.fixture(scope="module")
def acr(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("study"), "acr", per_rater=4, n_utts=4)[0]


def _band_energy(x: np.ndarray, rate: int, lo_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    return float(spec[np.fft.rfftfreq(len(x), 1 / rate) >= lo_hz].sum() / spec.sum())


def test_acr_study_has_gold_trap_training_and_level_aligned_opaque_stimuli(acr):
    kinds = Counter(i.kind for i in acr.items)
    assert kinds == {"rating": 3 * 4, "gold": 4, "trap": 4}
    assert {i.expected for i in acr.items if i.kind == "gold"} == {5.0}
    assert {i.expected for i in acr.items if i.kind == "trap"} == {sx.TRAP_EXPECTED}
    assert {i.stimuli[0].condition for i in acr.items if i.kind == "gold"} == {REFERENCE}
    # training spans the range: the clean reference down to a noisy 2 kHz low-pass
    assert acr.training[0].stimuli[0].condition == REFERENCE
    assert acr.training[-1].stimuli[0].condition == "noisy-lp2k"
    for stim in acr.stimuli().values():
        assert stim.model is None or stim.model not in stim.id  # the browser cannot tell
        audio = load_audio(acr.audio_root / stim.file)
        assert audio.sample_rate == acr.sample_rate == 22050
        if stim.condition != "headphone":  # its tones' levels: tests/listen/test_headphone.py
            assert sx.rms_dbfs(audio.samples) == pytest.approx(acr.level_dbfs, abs=0.5)
    trap = next(i for i in acr.items if i.kind == "trap").stimuli[0]
    assert load_audio(acr.audio_root / trap.file).duration_s > 2.0  # the spoken instruction


def test_yaml_round_trip_and_errors_name_the_file_and_field(acr, tmp_path):
    assert load_study(acr.path) == acr
    data = yaml.safe_load(acr.path.read_text())
    broken = tmp_path / "broken.yaml"
    for field, value, words in [("test_type", "abx", "'test_type'"), ("seed", "x", "'seed'"),
                                ("items", [], "'items' is empty")]:
        broken.write_text(yaml.safe_dump(data | {field: value}))
        with pytest.raises(DataFileError, match=words) as e:
            load_study(broken)
        assert str(broken) in str(e.value)
    del data["items"][2]["stimuli"][0]["condition"]
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match=r"items\[2\].stimuli\[0\].*'condition'"):
        load_study(broken)
    moved = tmp_path / "study.yaml"
    moved.write_text(acr.path.read_text())  # its audio folder is not next to it
    with pytest.raises(DataFileError, match="stimulus file"):
        load_study(moved)


def test_rater_orders_are_seeded_balanced_and_hold_one_gold_and_one_trap(acr):
    assert rater_plan(acr, 3) == rater_plan(acr, 3)
    assert rater_plan(acr, 3) != rater_plan(acr, 4)
    assert rater_plan(replace(acr, seed=1), 3) != rater_plan(acr, 3)
    kinds = {i.id: i.kind for i in (*acr.items, *acr.training)}
    counts: Counter = Counter()
    for k in range(9):  # 9 raters × 4 clips = 36 = 3 rounds of the 12 rated clips
        pages = [kinds[i] for i, _ in rater_plan(acr, k)]
        assert pages[:4] == ["training"] * 4
        assert Counter(pages[4:]) == {"rating": 4, "gold": 1, "trap": 1}
        counts.update(i for i, _ in rater_plan(acr, k) if kinds[i] == "rating")
    assert set(counts.values()) == {3}


def test_mushra_pages_hold_hidden_reference_and_a_real_3k5_lowpass_anchor(tmp_path):
    study, _ = make_study(tmp_path, "mushra", n_utts=1)
    page = study.items[0]
    conditions = [s.condition for s in page.stimuli]
    assert sorted(conditions) == sorted(
        ["clean/fp32", "lp4k/fp32", "noisy/fp32", REFERENCE, ANCHOR_LOWPASS_3K5])
    by = {s.condition: load_audio(study.audio_root / s.file).samples for s in page.stimuli}
    above_5k = {c: _band_energy(by[c], study.sample_rate, 5000) for c in by}
    assert above_5k[REFERENCE] > 1e-5
    assert above_5k[ANCHOR_LOWPASS_3K5] < above_5k[REFERENCE] / 1000  # ≥ 30 dB down
    below_3k = {c: 1 - _band_energy(by[c], study.sample_rate, 3000) for c in by}
    assert below_3k[ANCHOR_LOWPASS_3K5] > below_3k[REFERENCE] - 1e-3  # the band it keeps
    assert page.reference is not None and page.reference.id not in {s.id for s in page.stimuli}
    plan_a, plan_b = rater_plan(study, 0)[-1][1], rater_plan(study, 1)[-1][1]
    assert sorted(plan_a) == sorted(plan_b) and len(plan_a) == 5


def test_bad_requests_are_usage_errors_naming_the_valid_choices(tmp_path):
    store, run_id, audio = make_run(tmp_path, n_utts=1, models=tuple(f"lp{k}k" for k in
                                                                      range(1, 12)))
    with pytest.raises(UsageError, match="at most 12 conditions"):
        create_study(store, tmp_path / "s.yaml", "mushra", run=run_id)
    with pytest.raises(UsageError, match="closest: lp1k"):
        create_study(store, tmp_path / "s.yaml", "acr", run=run_id, models=["lp1"])
    with pytest.raises(UsageError, match="--type"):
        create_study(store, tmp_path / "s.yaml", "mos", run=run_id)
    with pytest.raises(UsageError, match="no run 7"):
        create_study(store, tmp_path / "s.yaml", "acr", run=7)
    # audio moved away from the recorded paths: found again under --audio
    moved = tmp_path / "moved"
    audio.rename(moved)
    with pytest.raises(DataFileError, match="--audio DIR"):
        create_study(store, tmp_path / "s.yaml", "ab", run=run_id, models=["lp1k", "lp2k"])
    study = create_study(store, tmp_path / "s.yaml", "ab", run=run_id, models=["lp1k", "lp2k"],
                         audio=moved)
    assert len(study.items) == 1 and {s.condition for s in study.items[0].stimuli} == {
        "lp1k/fp32", "lp2k/fp32"}
