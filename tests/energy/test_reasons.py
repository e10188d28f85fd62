"""Every fallback carries its reason: probe notes, the measurement JSON, the table, the CLI."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from greenvoc import EnergyMeter
from greenvoc.cli import main
from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.probe import probe, probe_counters
from greenvoc.energy.rapl import RaplReader
from greenvoc.energy.table import measurement_table
from greenvoc.testing.powercap import FakePowercap, unprivileged

CVE = "CVE-2020-8694"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePowercap]:
    """Two packages whose second DRAM counter is root-only (mode 000), as GREENVOC_POWERCAP_ROOT."""
    # Not tmp_path: its parents are 0700, and unprivileged() must be able to reach the tree.
    d = Path(tempfile.mkdtemp(prefix="greenvoc-powercap-"))
    d.chmod(0o755)
    tree = FakePowercap(d / "powercap")
    tree.add_package(0, energy_uj=1_000, dram_uj=2_000)
    tree.add_package(1, energy_uj=3_000, dram_uj=4_000)
    tree.make_unreadable("intel-rapl:1:0")
    monkeypatch.setenv("GREENVOC_POWERCAP_ROOT", str(tree.root))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, whatever this machine has
    # Once with the test's own uid, so that every module the meter needs is imported before
    # unprivileged() drops it (the standard library may be unreadable to ``nobody``).
    EnergyMeter().stop()
    yield tree
    shutil.rmtree(d)


def render(table) -> str:
    """The table as printed, without whitespace (the notes under it wrap at its width)."""
    console = Console(record=True, width=200)
    console.print(table)
    return "".join(console.export_text().split())


def squash(text: str) -> str:
    return "".join(text.split())


def test_probe_keeps_the_reason_a_dram_counter_fell_to_the_estimate(fake: FakePowercap) -> None:
    with unprivileged():
        sources, notes = probe_counters(use_nvml=False)
        found = probe(use_nvml=False)
    assert [s.method for s in sources] == ["rapl"]
    note = next(n for n in notes if n.startswith("RAPL: ram left to the estimate"))
    assert CVE in note and str(fake.root / "intel-rapl:1:0" / "energy_uj") in note
    assert CVE in found.uncovered["ram"]
    assert "cpu" not in found.uncovered


def test_measurement_json_and_table_carry_the_fallback_reason(fake: FakePowercap) -> None:
    with unprivileged():
        meter = EnergyMeter()  # probes: the DRAM file is read (and refused) at open
    with meter.window("w"):
        fake.add_energy("intel-rapl:0", 1_000_000)
    meter.stop()
    m = meter["w"]
    doc = m.to_dict()
    ram = doc["components"]["ram"]
    assert ram["method"] == "estimate" and not ram["measured"]
    assert CVE in ram["detail"]["fallback_reason"]
    assert any(CVE in note for note in ram["detail"]["notes"])
    assert any(CVE in note for note in doc["notes"])
    assert doc["components"]["cpu:package-0"]["method"] == "rapl"
    text = render(measurement_table(m, resolve_carbon_settings("FR", 1.0)))
    assert squash("estimate [1]") in text
    assert squash("[1] ram: no counter covers ram: RAPL: permission denied") in text
    assert CVE in text


def test_range_and_mirror_notes_reach_the_measurement(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path / "powercap")
    fake.add_zone("intel-rapl:0", name="package-0", energy_uj=5, max_energy_range_uj=None)
    fake.add_mirrored_dies(1, 2, energy_uj=7_000_000, skew_uj=3)
    meter = EnergyMeter([RaplReader(fake.root, cpu_vendor="AuthenticAMD")], estimate_ram=False)
    with meter.window("w"):
        pass
    meter.stop()
    m = meter["w"]
    assert any("max_energy_range_uj" in n for n in m.components["cpu:package-0"].notes)
    assert any("mirror" in n for n in m.components["cpu:package-1-die-0"].notes)
    assert any("max_energy_range_uj" in n for n in m.notes)
    assert any("counted once" in n for n in m.to_dict()["notes"])
    text = render(measurement_table(m, resolve_carbon_settings("FR", 1.0)))
    assert "max_energy_range_uj" in text and squash("counted once") in text


def _greenvoc(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_measure_and_hardware_carry_the_reason(
    fake: FakePowercap, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Carbon settings: no config file of the test's user (unreadable to ``nobody``).
    monkeypatch.chdir(fake.root.parent)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(fake.root.parent))
    monkeypatch.delenv("GREENVOC_COUNTRY", raising=False)
    commands = [
        ("measure", "--json", "--no-store", "--", "true"),
        ("measure", "--no-store", "--", "true"),
        ("hardware", "--json"),
    ]
    for argv in commands:  # as root first, so every module is imported before the uid drops
        assert _greenvoc(capsys, *argv)[0] == 0
    with unprivileged():
        results = [_greenvoc(capsys, *argv) for argv in commands]
    (code, measured, _), (_, _, table), (_, hardware, _) = results
    assert code == 0
    doc = json.loads(measured)
    assert CVE in doc["components"]["ram"]["detail"]["fallback_reason"]
    assert any(CVE in note for note in doc["notes"])
    assert squash("ram: no counter covers ram") in squash(table) and CVE in squash(table)
    assert any(CVE in note and "ram left to the estimate" in note
               for note in json.loads(hardware)["missing"])
