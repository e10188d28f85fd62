"""``greenvoc measure`` end to end: a real command in a subprocess, JSON, exit codes, the DB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

GREENVOC = [sys.executable, "-m", "greenvoc.cli"]


def greenvoc(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GREENVOC_POWERCAP_ROOT": str(cwd / "no-powercap"), **(env or {})}
    full_env.pop("GREENVOC_COUNTRY", None)
    return subprocess.run([*GREENVOC, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=120)


# 0.6 s of CPU, not of wall time: on a loaded machine a wall-time loop gets a fraction of a core
BUSY = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.6: sum(range(1000))"


def test_measure_json_fields_and_database(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = greenvoc("measure", "--json", "--country", "FR", "--pue", "1.2", "--db", db, "--",
                   sys.executable, "-c", BUSY, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # stdout holds the JSON document and nothing else
    for key in ("duration_s", "energy_j", "components", "measured", "carbon_g",
                "intensity_g_per_kwh", "country", "pue"):
        assert key in doc
    assert doc["country"] == "FR" and doc["pue"] == 1.2
    assert doc["intensity_g_per_kwh"] == pytest.approx(56.04)
    assert doc["measured"] is False  # no RAPL tree, no GPU here: the estimate, labelled
    assert doc["components"]["cpu"]["method"] == "estimate"
    assert doc["components"]["cpu"]["energy_j"] > 0
    assert doc["duration_s"] >= 0.6
    assert doc["carbon_g"] == pytest.approx(doc["energy_j"] / 3.6e6 * 1.2 * 56.04)
    with create_engine(db).connect() as conn:
        rows = conn.execute(text("select exit_code, energy_j, country from measurements")).all()
    assert rows == [(0, pytest.approx(doc["energy_j"]), "FR")]


def test_measure_charges_the_whole_process_tree(tmp_path):
    # The busy work runs in a grandchild: the estimate must still see its CPU time.
    inner = f"import subprocess,sys; subprocess.run([sys.executable,'-c',{BUSY!r}])"
    out = greenvoc("measure", "--json", "--no-store", "--", sys.executable, "-c", inner,
                   cwd=tmp_path)
    doc = json.loads(out.stdout)
    cpu = doc["components"]["cpu"]
    assert cpu["energy_j"] > 0.4 * cpu["detail"]["w_per_logical_cpu"]


def test_exit_code_passes_through(tmp_path):
    out = greenvoc("measure", "--no-store", "--", sys.executable, "-c", "raise SystemExit(7)",
                   cwd=tmp_path)
    assert out.returncode == 7
    assert "total" in out.stderr  # the table went to stderr


def test_missing_command_exits_127_and_stores_nothing(tmp_path):
    db = tmp_path / "r.db"
    out = greenvoc("measure", "--db", f"sqlite:///{db}", "--", "no-such-command-greenvoc",
                   cwd=tmp_path)
    assert out.returncode == 127
    assert "command not found" in out.stderr
    if db.exists():
        with create_engine(f"sqlite:///{db}").connect() as conn:
            assert conn.execute(text("select count(*) from measurements")).scalar() == 0


def test_unknown_country_exits_2_before_running(tmp_path):
    marker = tmp_path / "ran"
    out = greenvoc("measure", "--country", "XX", "--no-store", "--", sys.executable, "-c",
                   f"open({str(marker)!r}, 'w')", cwd=tmp_path)
    assert out.returncode == 2
    assert "--list-countries" in out.stderr
    assert not marker.exists()


def test_list_countries_json(tmp_path):
    out = greenvoc("measure", "--list-countries", "--json", cwd=tmp_path)
    codes = {row["code"] for row in json.loads(out.stdout)}
    assert {"FR", "US", "WORLD"} <= codes


def test_hardware_reports_missing_counters(tmp_path):
    out = greenvoc("hardware", "--json", cwd=tmp_path)
    doc = json.loads(out.stdout)
    assert any(note.startswith("RAPL") for note in doc["missing"])
    assert doc["estimate"]["cpu_w_per_logical_cpu"] > 0


def test_demo_meter_only_json(tmp_path):
    out = greenvoc("demo", "--meter-only", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    names = [w["name"] for w in doc["windows"]]
    assert names[0] == "idle" and names[1] == "conv 1 thread"
    idle, conv = doc["windows"][0], doc["windows"][1]
    assert conv["energy_j"] / conv["duration_s"] > 5 * idle["energy_j"] / idle["duration_s"]
