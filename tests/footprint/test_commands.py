"""``greenvoc footprint`` and ``greenvoc survey`` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from greenvoc.cli import main
from greenvoc.commands import COMMANDS


def test_commands_are_registered():
    # the entry point imports only the module of the command it runs
    assert {"footprint", "survey"} <= {c.name for c in COMMANDS}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_gpu_json_keys_and_values(capsys):
    code, out, _ = run(capsys, "footprint", "--gpu", "V100", "--count", "8", "--hours", "100",
                       "--country", "FR", "--pue", "1.5", "--json")
    assert code == 0
    doc = json.loads(out)
    for key in ("energy_kwh", "carbon_g", "intensity_g_per_kwh", "pue", "equivalents"):
        assert key in doc
    assert doc["energy_kwh"] == pytest.approx(360.0)
    assert doc["carbon_g"] == pytest.approx(360.0 * 56.04)
    assert {e["key"] for e in doc["equivalents"]} >= {"car_km", "tree_year"}
    assert all(e["source"] for e in doc["equivalents"])


def test_human_output_goes_to_stderr(capsys):
    code, out, err = run(capsys, "footprint", "--gpu", "T4", "--count", "1", "--hours", "2")
    assert code == 0 and out == "" and "kWh" in err


def test_model_with_reported_setup_is_computed(capsys):
    code, out, _ = run(capsys, "footprint", "--model", "parallel-wavegan", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["computable"] is True and doc["user_supplied"] == []
    # 2 × 300 W × 67.2 h = 40.32 kWh at PUE 1.0
    assert doc["energy_kwh"] == pytest.approx(40.32)
    assert doc["model"]["source"] == "https://arxiv.org/abs/1910.11480"


def test_model_without_time_is_not_computable_but_cited(capsys):
    code, out, _ = run(capsys, "footprint", "--model", "melgan", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["computable"] is False and "carbon_g" not in doc
    assert doc["model"]["citation"].startswith("Kumar, K.") and doc["message"]
    code, _, err = run(capsys, "footprint", "--model", "valle")
    assert code == 0 and "does not report the training time" in err


def test_user_supplied_hours_are_labelled(capsys):
    code, out, _ = run(capsys, "footprint", "--model", "valle", "--hours", "10", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["computable"] is True and doc["user_supplied"] == ["training time"]
    assert doc["energy_kwh"] == pytest.approx(16 * 300 * 10 / 1000)
    assert any("user-supplied" in a for a in doc["assumptions"])


def test_list_json_each_with_source(capsys):
    code, out, _ = run(capsys, "footprint", "--list", "--json")
    models = json.loads(out)["models"]
    assert code == 0 and len(models) >= 20
    assert all(m["source"] and m["citation"] for m in models)


@pytest.mark.parametrize("argv", [
    ("footprint", "--gpu", "V1000", "--count", "1", "--hours", "1"),
    ("footprint", "--model", "hifigun"),
    ("footprint", "--gpu", "V100", "--count", "-1", "--hours", "1"),
    ("footprint", "--gpu", "V100", "--count", "1", "--hours", "-5"),
    ("footprint", "--model", "valle", "--hours", "-1"),
    ("footprint", "--gpu", "V100"),
])
def test_bad_input_exits_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and "error" in err


def test_unknown_names_suggest_the_closest(capsys):
    _, _, err = run(capsys, "footprint", "--gpu", "A10O", "--count", "1", "--hours", "1")
    assert "A100" in err
    _, _, err = run(capsys, "footprint", "--model", "hifigan")
    assert "hifigan-v1" in err


def test_survey_json_shares_equal_counts(capsys):
    code, out, _ = run(capsys, "survey", "--json")
    doc = json.loads(out)
    papers = doc["papers"]
    assert code == 0 and len(papers) >= 40
    for measure, share in doc["shares"].items():
        assert share == pytest.approx(sum(p[measure] for p in papers) / len(papers))
    assert all(p["source"] for p in papers)


def test_survey_human(capsys):
    code, out, err = run(capsys, "survey")
    assert code == 0 and out == "" and "energy / carbon" in err


def test_survey_cites_the_energy_studies(capsys):
    code, out, _ = run(capsys, "survey", "--json")
    doc = json.loads(out)
    studies = {s["key"]: s for s in doc["energy_studies"]}
    assert code == 0 and set(studies) == {"douwes-2021", "passoni-2025"}
    assert all(s["energy_carbon"] for s in studies.values())
    assert doc["n_papers"] == len(doc["papers"]) and not set(studies) & {
        p["key"] for p in doc["papers"]}
    code, _, err = run(capsys, "survey")
    assert code == 0 and "arxiv.org/abs/2107.02621" in err and "arxiv.org/abs/2505.07615" in err
