from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_carbon_env(monkeypatch, tmp_path):
    """No country, PUE or config file leaks in from the machine running the tests."""
    monkeypatch.delenv("GREENVOC_COUNTRY", raising=False)
    monkeypatch.delenv("GREENVOC_PUE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
