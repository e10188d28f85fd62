"""greenvoc pareto / report: JSON shape, tables on stderr, usage errors (rows injected)."""

from __future__ import annotations

import argparse
import json

import pytest

from greenvoc.commands import pareto, report
from greenvoc.errors import UsageError

from .conftest import RUN_INFO, zoo_rows


def parse(module, argv, rows):
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    args = parser.parse_args([module.__name__.rsplit(".", 1)[1], *argv])
    args.result = (RUN_INFO, rows)
    return args


def test_pareto_json_shape(capsys):
    args = parse(pareto, ["--json", "--resamples", "50"], zoo_rows())
    assert pareto.run(args) == 0
    out, _ = capsys.readouterr()
    doc = json.loads(out)
    assert doc["quality"] == "dnsmos_ovrl" and doc["cost"] == "energy_j_per_audio_s"
    assert doc["run"] == 1
    assert {(m["model"], m["variant"]) for m in doc["front"]} == {
        ("hifigan_v3", "fp32"), ("vocos", "fp32")}
    keys = {"model", "variant", "family", "efficiency", "rank", "status", "quality",
            "quality_ci95", "cost", "cost_ci95", "p_front", "dominated_confidence",
            "dominated", "energy", "n", "n_failed", "weakly_efficient", "efficiency_ci95"}
    assert len(doc["models"]) == 6
    for m in doc["models"]:
        assert keys <= set(m)
    assert [p["model"] for p in doc["cost_only"]] == ["wavenet"]
    assert doc["n_failed"] == 1 and "E_i" in doc["efficiency_formula"]


def test_pareto_table_goes_to_stderr(capsys):
    args = parse(pareto, ["--quality", "mcd_db", "--cost", "rtf", "--resamples", "20"],
                 zoo_rows())
    assert pareto.run(args) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "vocos" in err and "wavenet" in err


def test_pareto_unknown_metric_is_a_usage_error():
    args = parse(pareto, ["--quality", "loudness"], zoo_rows())
    with pytest.raises(UsageError, match="dnsmos_ovrl") as e:
        pareto.run(args)
    assert e.value.exit_code == 2


def test_pareto_exits_1_when_nothing_can_be_ranked(capsys):
    rows = [r for r in zoo_rows() if r["model"] == "wavenet"]
    assert pareto.run(parse(pareto, ["--json", "--resamples", "5"], rows)) == 1


def test_report_command(tmp_path, capsys):
    args = parse(report, ["--out", str(tmp_path), "--country", "DE", "--json",
                          "--resamples", "20"], zoo_rows())
    assert report.run(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["html"].endswith("report.html") and len(doc["figures"]) == 3
    html = (tmp_path / "report.html").read_text()
    # the context of the layers above the analysis: published footprints and the survey chart
    assert "<h2>Training footprint of published models</h2>" in html
    assert "<h2>What papers report</h2>" in html
    assert (tmp_path / "survey_shares.png").stat().st_size > 1000


def test_report_without_context(tmp_path, capsys):
    args = parse(report, ["--out", str(tmp_path), "--no-context", "--json",
                          "--resamples", "20"], zoo_rows())
    assert report.run(args) == 0
    html = (tmp_path / "report.html").read_text()
    assert "What papers report" not in html and "<h2>Pareto front" in html


def test_pareto_and_report_read_a_real_database(tmp_path, capsys):
    from greenvoc.metrics.registry import metric_names
    from greenvoc.store.db import ResultStore
    from greenvoc.store.results import BASE_COLUMNS, add_result, get_or_create_run

    url = f"sqlite:///{tmp_path / 'results.db'}"
    store = ResultStore(url)
    run_id, _ = get_or_create_run(
        store, {"metrics": list(metric_names())}, 0,
        {"hardware": {"cpu": "test"}, "versions": {"greenvoc": "0"}, "git_commit": "abc123"})
    for row in zoo_rows():
        fields = {k: v for k, v in row.items() if k in BASE_COLUMNS and k != "run"}
        fields["peak_rss_bytes"] = int(fields["peak_rss_bytes"])
        fields["metrics"] = {m: row[m] for m in metric_names() if row[m] is not None}
        assert add_result(store, run_id, **fields)

    args = parse(pareto, ["--db", url, "--json", "--resamples", "20"], None)
    args.result = None
    assert pareto.run(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run"] == run_id and len(doc["front"]) == 2 and doc["n_failed"] == 1
    assert [p["model"] for p in doc["cost_only"]] == ["wavenet"]


def test_report_decides_for_the_users_floor_and_budget_and_writes_paper_tables(tmp_path,
                                                                               capsys):
    args = parse(report, ["--out", str(tmp_path), "--no-context", "--json", "--resamples", "20",
                          "--quality-floor", "2.95", "--budget-j-per-s", "5",
                          "--latex", str(tmp_path / "t.tex"),
                          "--markdown", str(tmp_path / "t.md")], zoo_rows())
    assert report.run(args) == 0
    doc = json.loads(capsys.readouterr().out)
    first, budget = doc["decisions"][:2]
    assert first["requirement"] == "dnsmos_ovrl ≥ 2.95 (your floor)"
    assert first["pick"] == "hifigan_v3/fp32" and first["times_cheaper"] == pytest.approx(2, 0.05)
    assert budget["pick"] == "vocos/fp32" and "sure" in budget["certainty"]
    assert [d["kind"] for d in doc["decisions"][2:]] == ["front", "front"]
    assert "\\begin{tabular}" in (tmp_path / "t.tex").read_text()
    assert "| vocos | fp32 |" in (tmp_path / "t.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert html.index("Which vocoder?") < html.index("Leaderboard") < html.index("Method")


def test_report_budget_needs_an_energy_cost():
    args = parse(report, ["--cost", "rtf", "--budget-j-per-s", "5"], zoo_rows())
    with pytest.raises(UsageError, match="--cost energy_j_per_audio_s"):
        report.run(args)
