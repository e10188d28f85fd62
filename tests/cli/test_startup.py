"""What the console script imports before it works: a command pays for its own libraries only,
and ``measure`` imports neither torch nor SQLAlchemy while the metered command runs.

Each check runs the real entry point in a fresh interpreter and reads ``sys.modules`` (or the
times at which an import hook saw a library load): no timing, so no flakiness on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from greenvoc.cli import build_parser
from greenvoc.commands import COMMANDS

#: Libraries that cost from a tenth of a CPU-second (SQLAlchemy) to seconds (torch) to import.
HEAVY = ("torch", "sqlalchemy", "librosa", "onnxruntime", "matplotlib", "fastapi", "scipy",
         "pandas", "numba", "soundfile", "uvicorn")

#: Prelude of every probe: records when each heavy library is first imported, on the clock
#: (CLOCK_MONOTONIC, system-wide on Linux) that the metered child also reads.
WATCH = textwrap.dedent(f"""
    import json, sys, time
    HEAVY = {HEAVY!r}
    first_import = {{}}

    class Watch:
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in HEAVY and top not in first_import:
                first_import[top] = time.monotonic()
            return None

    sys.meta_path.insert(0, Watch())
    from greenvoc.cli import main

    def run(*argv):
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code
        print(json.dumps({{"code": code, "first_import": first_import,
                          "modules": sorted(sys.modules)}}), file=sys.stderr)
""")


def probe(body: str, tmp_path) -> dict:
    env = {**os.environ, "GREENVOC_POWERCAP_ROOT": str(tmp_path / "no-powercap")}
    out = subprocess.run([sys.executable, "-c", WATCH + textwrap.dedent(body)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    return json.loads(out.stderr.strip().splitlines()[-1]) | {"stdout": out.stdout}


def test_top_level_help_imports_no_command(tmp_path):
    doc = probe("run('--help')", tmp_path)
    assert doc["code"] == 0
    assert not [m for m in doc["modules"] if m.startswith("greenvoc.commands.")]
    assert not doc["first_import"]
    for c in COMMANDS:  # every command is still listed, with its help line
        assert c.name in doc["stdout"] and c.help.split()[0] in doc["stdout"]


def test_every_parser_builds_without_heavy_libraries(tmp_path):
    # The whole tree, every command's module imported: what any subcommand's --help costs at most.
    doc = probe("from greenvoc.cli import build_parser\nbuild_parser()\nrun('--version')",
                tmp_path)
    assert {m for m in doc["modules"] if m.startswith("greenvoc.commands.")} == {
        f"greenvoc.commands.{c.module}" for c in COMMANDS} | {"greenvoc.commands._output"}
    assert not doc["first_import"], f"imported while building the parsers: {doc['first_import']}"


def test_measure_imports_sqlalchemy_only_after_the_command_and_never_torch(tmp_path):
    db = tmp_path / "r.db"
    ended = tmp_path / "ended"
    child = f"import time; open({str(ended)!r}, 'w').write(repr(time.monotonic()))"
    doc = probe(f"run('measure', '--json', '--db', 'sqlite:///{db}', '--', {sys.executable!r}, "
                f"'-c', {child!r})", tmp_path)
    assert doc["code"] == 0
    assert "torch" not in doc["modules"]  # nor by the meter: torch is synced only if imported
    assert doc["first_import"]["sqlalchemy"] > float(ended.read_text())
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from measurements").fetchone() == (1,)
    assert json.loads(doc["stdout"])["db_id"] == 1


def test_measure_no_store_imports_no_heavy_library(tmp_path):
    doc = probe("run('measure', '--no-store', '--', 'true')", tmp_path)
    assert doc["code"] == 0
    assert not doc["first_import"], doc["first_import"]
    assert [m for m in doc["modules"] if m.startswith("greenvoc.commands.")] == [
        "greenvoc.commands._output", "greenvoc.commands.measure"]


def test_a_database_that_cannot_be_opened_keeps_the_measurement(tmp_path):
    # Opened only after the command ran: the figure is still printed, the error says why it
    # was not stored, and the exit code is the store's failure (the command itself succeeded).
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table unrelated (x integer)")
    ran = tmp_path / "ran"
    child = f"open({str(ran)!r}, 'w')"
    doc = probe(f"run('measure', '--json', '--db', 'sqlite:///{db}', '--', {sys.executable!r}, "
                f"'-c', {child!r})", tmp_path)
    assert ran.exists()
    assert doc["code"] == 1
    measurement = json.loads(doc["stdout"])
    assert measurement["energy_j"] >= 0 and "db_id" not in measurement
    assert "not a greenvoc database" in measurement["db_error"]


def test_a_malformed_db_url_exits_2_before_running(tmp_path):
    ran = tmp_path / "ran"
    out = subprocess.run([sys.executable, "-m", "greenvoc", "measure", "--db", "results.db",
                          "--", sys.executable, "-c", f"open({str(ran)!r}, 'w')"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "is not an SQLAlchemy URL" in out.stderr
    assert not ran.exists()


def test_zoo_list_builds_no_model(tmp_path):
    doc = probe("run('zoo', 'list', '--json')", tmp_path)
    assert doc["code"] == 0
    assert "torch" not in doc["modules"], (
        "zoo list imported torch: the zoo index is stale or not used; regenerate it with "
        "`python -m greenvoc.vocoders.index`")
    rows = json.loads(doc["stdout"])
    assert {"hifigan-v1-lj", "griffin-lim"} <= {r["name"] for r in rows}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_command_is_registered_by_its_module(command):
    parser = build_parser([command.name])
    sub = parser._subparsers._group_actions[0]
    own = sub.choices[command.name]  # the module's parser, not the name-and-help stand-in
    assert [a for a in own._actions if not isinstance(a, argparse._HelpAction)]
    listed = {a.dest: a.help for a in sub._choices_actions}
    assert listed[command.name] == command.help


def test_the_full_parser_registers_exactly_the_listed_commands():
    sub = build_parser()._subparsers._group_actions[0]
    assert list(sub.choices) == [c.name for c in COMMANDS]


def test_train_help_names_every_recipe():
    from greenvoc.commands.train import RECIPE_NAMES
    from greenvoc.train import RECIPES

    assert tuple(RECIPES) == RECIPE_NAMES
