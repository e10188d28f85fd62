"""``greenvoc score``: the JSON document and the exit codes."""

import argparse
import json

import numpy as np
import pytest

from greenvoc.cli import main as cli_main
from greenvoc.commands import score as score_command

from .conftest import add_noise, write


def test_registers_a_subcommand():
    parser = argparse.ArgumentParser()
    score_command.register(parser.add_subparsers())
    args = parser.parse_args(["score", "--ref", "r", "--est", "e", "--json"])
    assert args.func is score_command.run and args.workers == 2


def test_json_document(tmp_path, speech, capsys):
    clean = speech[:32000]
    write(tmp_path / "ref" / "a.wav", clean)
    write(tmp_path / "ref" / "b.wav", clean)
    write(tmp_path / "est" / "a.wav", add_noise(clean, 10))
    write(tmp_path / "est" / "b.wav", clean[:100] * 0)  # silent: a per-file error
    code = cli_main(["score",
        "--ref", str(tmp_path / "ref"), "--est", str(tmp_path / "est"),
        "--metrics", "stoi,pesq_wb", "--workers", "1", "--json",
    ])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert {"files", "mean"} <= set(doc)
    assert [f["name"] for f in doc["files"]] == ["a", "b"]
    a, b = doc["files"]
    assert set(a["metrics"]) == {"stoi", "pesq_wb"} and a["error"] is None
    assert b["metrics"] == {"stoi": None, "pesq_wb": None} and "silent" in b["error"]
    assert doc["mean"]["stoi"] == pytest.approx(a["metrics"]["stoi"])
    assert doc["n"] == {"stoi": 1, "pesq_wb": 1} and doc["n_failed"]["stoi"] == 1
    assert doc["ci95"]["stoi"] is None  # one value: no interval


def test_unknown_metric_exits_2_listing_names(tmp_path, capsys):
    code = cli_main(["score", "--ref", str(tmp_path), "--est", str(tmp_path),
                               "--metrics", "stoi,bogus"])
    err = capsys.readouterr().err
    assert code == 2 and "bogus" in err and "pesq_wb" in err and "dnsmos_ovrl" in err


def test_table_output_goes_to_stderr(tmp_path, speech, capsys):
    ref = write(tmp_path / "r.wav", speech[:32000])
    code = cli_main(["score", "--ref", str(ref), "--est", str(ref), "--metrics", "stoi"])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == ""


def test_nothing_scored_exits_1(tmp_path, capsys):
    silent = write(tmp_path / "s.wav", np.zeros(16000, np.float32))
    code = cli_main(["score", "--ref", str(silent), "--est", str(silent), "--metrics", "stoi",
                               "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and "silent" in doc["files"][0]["error"]
