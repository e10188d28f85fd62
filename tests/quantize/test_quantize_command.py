"""``greenvoc quantize``: writes the artefact, reports size and fidelity, refuses bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from greenvoc.audio.io import save_audio
from greenvoc.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("speechlike")
    t = np.arange(22050) / 22050
    for i, f0 in enumerate((120.0, 210.0)):
        wave = np.sin(2 * np.pi * f0 * t) * (0.3 + 0.2 * np.sin(2 * np.pi * 3 * t))
        save_audio(root / f"clip{i}.wav", wave.astype(np.float32), 22050)
    return root


def test_quantize_writes_the_artefact_and_checks_it(corpus, tmp_path, capsys):
    out = tmp_path / "v2-int4"
    code = main(["quantize", "hifigan-v2", "--variant", "int4-weight-only", "--calibration",
                 str(corpus), "--out", str(out), "--max-frames", "32", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert (out / "int4-weight-only.pt").stat().st_size == doc["bytes_on_disk"]
    assert doc["size_ratio"] > 6.5  # 4.25 bits a weight
    assert doc["check_held_out"] and doc["check_clip"] == "clip1"
    assert doc["calibration"] == []  # weight-only needs none
    assert 15 < doc["fidelity"]["snr_db"] < 40  # int4: ≈ 24 dB on random weights
    assert doc["detail"]["low_precision_ops"] == {}


def test_quantize_records_the_calibration_set(corpus, tmp_path, capsys):
    code = main(["quantize", "hifigan-v2", "--variant", "onnx-int8-conv", "--calibration",
                 str(corpus), "--out", str(tmp_path), "--max-frames", "16", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["calibration"] == ["clip0"] and doc["check_clip"] == "clip1"
    assert doc["detail"]["calibration_mels"] == 1
    assert doc["detail"]["low_precision_ops"]["QLinearConv"] == 72


def test_unknown_variant_exits_2_listing_them(capsys):
    assert main(["quantize", "hifigan-v2", "--variant", "int3"]) == 2
    assert "int8-static" in capsys.readouterr().err


def test_empty_calibration_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["quantize", "hifigan-v2", "--variant", "int8-static", "--calibration",
                 str(tmp_path)]) == 1
    assert "no audio files" in capsys.readouterr().err


def test_steps_belong_to_int8_qat_only(capsys):
    assert main(["quantize", "hifigan-v2", "--variant", "onnx-int8", "--steps", "5"]) == 2
    assert "int8-qat" in capsys.readouterr().err


def test_int8_qat_refuses_a_model_without_weights(corpus, tmp_path, capsys):
    code = main(["quantize", "hifigan-v2", "--variant", "int8-qat", "--steps", "1",
                 "--calibration", str(corpus), "--out", str(tmp_path / "q"),
                 "--db", f"sqlite:///{tmp_path / 'q.db'}"])
    assert code == 2
    assert "random weights" in capsys.readouterr().err
    assert not (tmp_path / "q" / "student.pt").exists()
