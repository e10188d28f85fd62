"""``greenvoc train`` end to end: a 2-clip corpus, tiny HiFi-GAN V3, the real meter and DB."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy.exc import IntegrityError

from greenvoc.cli import main
from greenvoc.store import ResultStore
from greenvoc.store import train_tables as tt
from greenvoc.train.report import training_section_html

TINY = ["--batch", "1", "--segment", "2048", "--config", "tiny", "--threads", "1"]


def _train(capsys, *args: str) -> tuple[int, dict | None, str]:
    rc = main(["train", *args, *TINY, "--json"])
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if out.out.strip() else None), out.err


def test_train_20_steps_then_resume_to_40(tmp_path, two_clips, capsys):
    out, db = tmp_path / "run", f"sqlite:///{tmp_path / 'db.sqlite'}"
    common = ["hifigan-v3", "--data", two_clips, "--out", str(out), "--db", db,
              "--validate-every", "20", "--checkpoint-every", "10"]
    rc, doc, _ = _train(capsys, *common, "--steps", "20", "--no-dnsmos")
    assert rc == 0 and doc["status"] == "finished" and doc["end_step"] == 20
    assert (out / "checkpoint.pt").is_file()
    first_j = doc["energy_j"]

    # the same folder without --resume is refused: it would mix two runs
    rc, _, err = _train(capsys, *common, "--steps", "40")
    assert rc == 2 and "--resume" in err

    rc, doc, _ = _train(capsys, *common, "--steps", "40", "--resume")
    assert rc == 0 and (doc["start_step"], doc["end_step"]) == (20, 40)
    store = ResultStore(db)
    steps = tt.step_rows(store, doc["run_id"])
    assert [s.step for s in steps] == list(range(1, 41))
    assert all(s.energy_j > 0 and s.duration_s > 0 for s in steps)
    assert all(s.energy_method for s in steps)
    cumulative = [s.cumulative_energy_j for s in steps]
    assert cumulative == sorted(cumulative)
    assert cumulative[-1] == pytest.approx(sum(s.energy_j for s in steps))
    assert cumulative[19] == pytest.approx(first_j)
    assert doc["energy_j"] == pytest.approx(cumulative[-1])
    assert all(s.losses["mel_l1"] > 0 for s in steps)
    with (out / "train_log.csv").open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 41))

    vals = tt.validation_rows(store, doc["run_id"])
    assert [v.step for v in vals] == [20, 40]
    assert vals[1].cumulative_energy_j > vals[0].cumulative_energy_j
    assert vals[0].mel_l1 > 0 and vals[0].dnsmos_ovrl is None  # --no-dnsmos
    assert vals[1].mel_l1 > 0 and 1.0 <= vals[1].dnsmos_ovrl <= 5.0

    proj = doc["projection"]
    assert proj and all(p["label"] == "projection" for p in proj)
    assert proj[0]["steps"] == 2_500_000 and proj[0]["energy_kwh"] > 0
    run = tt.get_run(store, doc["run_id"])
    assert run.status == "finished" and run.steps_done == 40

    # resuming at the target step trains nothing and stores nothing twice
    rc, doc, _ = _train(capsys, *common, "--steps", "40", "--resume")
    assert rc == 0 and doc["end_step"] == 40
    assert len(tt.step_rows(store, doc["run_id"])) == 40
    with pytest.raises(IntegrityError):
        tt.add_step(store, run_id=doc["run_id"], step=40, losses={}, energy_j=1.0,
                    cumulative_energy_j=1.0, measured=False, energy_method="estimate",
                    carbon_g=0.0, cumulative_carbon_g=0.0, duration_s=1.0)

    html = training_section_html(store, tmp_path / "report")
    assert "<h2>Training</h2>" in html and "data:image/png;base64," in html
    assert "PROJECTIONS, not measurements" in html
    assert (tmp_path / "report" / "training_quality_vs_energy.png").stat().st_size > 1000


def test_energy_budget_stops_early(tmp_path, two_clips, capsys):
    out, db = tmp_path / "run", f"sqlite:///{tmp_path / 'db.sqlite'}"
    rc, doc, _ = _train(capsys, "hifigan-v3", "--data", two_clips, "--steps", "30",
                        "--energy-budget-kwh", "1e-9", "--out", str(out), "--db", db)
    assert rc == 0
    assert doc["status"] == "budget_spent" and doc["end_step"] < 30
    assert "energy budget of 1e-09 kWh spent" in doc["message"]
    assert (out / "checkpoint.pt").is_file()
    assert tt.get_run(ResultStore(db), doc["run_id"]).status == "budget_spent"


def test_folder_without_audio_is_an_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no audio here")
    rc = main(["train", "hifigan-v3", "--data", str(empty), "--steps", "2",
               "--out", str(tmp_path / "o"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    err = capsys.readouterr().err
    assert rc == 1
    assert str(empty) in err and ".wav" in err and ".flac" in err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.wav").write_bytes(b"not a wave file at all")
    rc = main(["train", "hifigan-v3", "--data", str(broken), "--steps", "2",
               "--out", str(tmp_path / "o"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    err = capsys.readouterr().err
    assert rc == 1 and "no usable audio" in err and str(broken) in err


def test_unknown_model_lists_the_closest(capsys):
    rc = main(["train", "hifigan-v4", "--steps", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "hifigan-v1" in err and "closest" in err
