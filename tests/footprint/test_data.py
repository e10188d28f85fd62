"""The cited tables: every row sourced, enums valid, the issue's models and sizes present."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest

from greenvoc.footprint.gpus import load_gpu_table, lookup_gpu
from greenvoc.footprint.published import REPORTED, load_published_models
from greenvoc.footprint.survey import MEASURES, load_papers


def rows(name: str) -> list[dict]:
    text = resources.files("greenvoc.data").joinpath(name).read_text()
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("name", ["gpu_power.csv", "published_models.csv", "equivalents.csv",
                                  "literature_metrics.csv"])
def test_every_row_has_a_source(name):
    for row in rows(name):
        assert row["source"].strip(), row


def test_published_models_schema_and_honesty():
    models = load_published_models()
    assert len(models) >= 20
    for m in models.values():
        assert m.reported in REPORTED
        assert re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{4,5}", m.source), m.key
        assert m.arxiv in m.citation and m.source_section
        if m.reported == "unchecked":  # nothing entered where the paper could not be read
            assert (m.gpu, m.device_count, m.train_hours, m.steps) == (None,) * 4, m.key
        if m.reported == "yes":
            assert m.computable, m.key
        if m.reported in ("partial", "no"):
            assert not m.computable, m.key
        if m.gpu:
            lookup_gpu(m.gpu)


ISSUE_MODELS = ["WaveNet", "Parallel WaveNet", "Tacotron 2", "WaveGlow", "WaveRNN", "MelGAN",
                "Parallel WaveGAN", "HiFi-GAN", "DiffWave", "WaveGrad", "UnivNet", "BigVGAN",
                "Vocos", "Jukebox", "AudioLM", "MusicLM", "VALL-E", "EnCodec", "MusicGen",
                "Stable Audio"]


@pytest.mark.parametrize("name", ISSUE_MODELS)
def test_issue_models_present(name):
    names = [m.model for m in load_published_models().values()]
    assert any(n == name or n.startswith(name + " ") for n in names), name
    assert "hifigan-v1" in load_published_models()


def test_literature_table():
    papers = load_papers()
    assert len(papers) >= 40
    assert len({p.key for p in papers}) == len(papers)
    for row in rows("literature_metrics.csv"):
        assert all(row[m] in ("yes", "no") for m in MEASURES), row["key"]
        assert row["verified"] in ("yes", "no") and row["venue"] and row["year"].isdigit()


def test_gpu_table_names_unique_and_powers_plausible():
    table = load_gpu_table()
    assert len({e.name for e in table}) == len(table)
    for e in table:
        assert 30 <= e.board_power_w <= 1000, e.name
