"""Carbon conversion: the cited grid table, settings precedence, PUE."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from greenvoc.energy.carbon import (
    WORLD,
    carbon_g,
    grid_intensity,
    load_grid_table,
    resolve_carbon_settings,
)
from greenvoc.errors import UsageError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("GREENVOC_COUNTRY", raising=False)
    monkeypatch.delenv("GREENVOC_PUE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


def test_table_rows_are_cited_and_unique():
    text = resources.files("greenvoc.data").joinpath("grid_intensity.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) >= 60
    assert len({r["iso2"] for r in rows}) == len(rows)
    for row in rows:
        assert row["source"].strip(), row
        assert 0 <= float(row["g_co2eq_per_kwh"]) < 2000, row


@pytest.mark.parametrize(
    ("code", "expected"), [("FR", 56.04), ("us", 369.47), ("DEU", 380.95), ("CN", 582.32)]
)
def test_known_owid_2023_values(code, expected):
    assert grid_intensity(code).g_per_kwh == pytest.approx(expected, abs=0.01)


def test_world_default_and_unknown_code():
    assert grid_intensity(None).code == WORLD
    assert 400 < grid_intensity(None).g_per_kwh < 520
    with pytest.raises(UsageError, match="--list-countries"):
        grid_intensity("XX")


def test_carbon_arithmetic():
    # 3.6 MJ = 1 kWh; at 100 g/kWh and PUE 1.5 that is 150 g.
    assert carbon_g(3.6e6, 100.0, 1.5) == pytest.approx(150.0)
    assert carbon_g(0.0, 500.0) == 0.0


def test_settings_precedence_flag_env_config(monkeypatch, tmp_path):
    (tmp_path / "greenvoc.toml").write_text('[carbon]\ncountry = "DE"\npue = 1.2\n')
    s = resolve_carbon_settings()
    assert (s.intensity.code, s.pue) == ("DE", 1.2)
    assert "greenvoc.toml" in s.origin
    monkeypatch.setenv("GREENVOC_COUNTRY", "FR")
    monkeypatch.setenv("GREENVOC_PUE", "1.1")
    s = resolve_carbon_settings()
    assert (s.intensity.code, s.pue) == ("FR", 1.1)
    s = resolve_carbon_settings("US", 1.58)
    assert (s.intensity.code, s.pue) == ("US", 1.58)
    assert s.carbon_g(3.6e6) == pytest.approx(369.47 * 1.58)


def test_bad_settings_are_usage_errors(monkeypatch, tmp_path):
    with pytest.raises(UsageError, match="PUE must be"):
        resolve_carbon_settings(pue=0.8)
    monkeypatch.setenv("GREENVOC_PUE", "high")
    with pytest.raises(UsageError, match="GREENVOC_PUE"):
        resolve_carbon_settings()
    monkeypatch.delenv("GREENVOC_PUE")
    (tmp_path / "greenvoc.toml").write_text("[carbon\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        resolve_carbon_settings()


def test_iso3_and_iso2_map_to_the_same_row():
    table = load_grid_table()
    assert table["FR"] is table["FRA"]
