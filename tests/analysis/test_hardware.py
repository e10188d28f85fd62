"""Analysis across hardware: fronts per hardware class, ratios between classes, the CLI and the
report section, on real SQLite databases written with ``add_result(..., hardware=...)``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from greenvoc.analysis.by_hardware import compare_hardware, group_by_hardware, run_hardware
from greenvoc.analysis.report import render_report
from greenvoc.analysis.runs import load_run
from greenvoc.cli import main
from greenvoc.errors import UsageError
from greenvoc.provenance import hardware_class
from greenvoc.store.db import ResultStore
from greenvoc.store.results import add_result, add_run_node, get_or_create_run

CPU = "cpu:Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz x2"
GPU = "gpu:NVIDIA H100 80GB HBM3"
EPYC = "cpu:AMD EPYC 7B13 x1"
UTTS = ("u1", "u2", "u3", "u4")
#: model → quality (dnsmos_ovrl), then energy J/s and RTF per class. On CPU every model is on
#: the front; on the GPU, mid (3.4, 2.0 J/s) is dominated by big (3.6, 1.5 J/s).
QUALITY = {"small": 3.0, "mid": 3.4, "big": 3.6}
ENERGY = {CPU: {"small": 2.0, "mid": 10.0, "big": 40.0},
          GPU: {"small": 1.0, "mid": 2.0, "big": 1.5},
          EPYC: {"small": 1.0, "mid": 5.0, "big": 20.0}}
RTF = {CPU: {"small": 0.2, "mid": 0.5, "big": 2.0},
       GPU: {"small": 0.01, "mid": 0.02, "big": 0.01},
       EPYC: {"small": 0.1, "mid": 0.25, "big": 1.0}}
METHOD = {CPU: (False, "estimate"), GPU: (True, "nvml+rapl"), EPYC: (True, "rapl")}


def scale(k: int) -> float:
    """Utterance k is (1 + k/2) times as costly on every class: the ratio per utterance is
    constant, the means vary a lot across utterances."""
    return 1.0 + 0.5 * k


def write_run(store: ResultStore, hardware_by_utt: dict[str, str | None], *, device="cpu",
              metrics=("dnsmos_ovrl",), corpus="default", env_hw=None, weights=True,
              host=None, models=tuple(QUALITY)) -> int:
    config = {"models": list(models), "corpus": corpus, "metrics": list(metrics),
              "device": device}
    env = {"hardware": env_hw or {"cpu_model": "Old CPU", "sockets": 1},
           "versions": {"greenvoc": "0"}, "git_commit": "abc123"}
    run_id, _ = get_or_create_run(store, config, 0, env)
    for model in models:
        for k, utt in enumerate(UTTS):
            hw = hardware_by_utt[utt]
            cls = hw or CPU  # rows without a class are priced like the CPU
            measured, method = METHOD[cls]
            e = ENERGY[cls][model] * scale(k)
            assert add_result(
                store, run_id, model=model, variant="fp32", utterance=utt, family="test",
                has_weights=weights, audio_s=2.0, compute_s=2.0 * RTF[cls][model] * scale(k),
                rtf=RTF[cls][model] * scale(k), energy_j=2.0 * e, energy_j_per_audio_s=e,
                energy_measured=measured, energy_method=method,
                metrics={"dnsmos_ovrl": QUALITY[model] + 0.01 * k} if weights else {},
                hardware=hw, hostname=host or (hw or "old").split(":")[0] + "-box")
    return run_id


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    return url, ResultStore(url)


def test_hardware_class_labels():
    assert hardware_class("cpu", cpu_model="Intel(R) Xeon(R) Gold 6130", sockets=2) == \
        "cpu:Intel(R) Xeon(R) Gold 6130 x2"
    assert hardware_class("cuda:0", "NVIDIA H100 80GB HBM3") == GPU
    from greenvoc.energy.tdp import cpu_info

    info = cpu_info()
    assert hardware_class() == f"cpu:{info.model_name} x{info.sockets}"
    assert run_hardware({"hardware": {"cpu_model": "Old CPU", "sockets": 2}}) == "cpu:Old CPU x2"
    assert run_hardware({"hardware": {"cuda_devices": ["A100", "H100"]},
                         "config": {"device": "cuda:1"}}) == "gpu:H100"
    assert run_hardware({}) == "cpu:unknown CPU x?"


def test_one_run_sharded_over_two_classes(db):
    """A Ray-like run: u1, u2 on the CPU node, u3, u4 on the GPU; ratios are unpaired."""
    url, store = db
    run = write_run(store, {"u1": CPU, "u2": CPU, "u3": GPU, "u4": GPU})
    cmp = compare_hardware([load_run(url, str(run))], n_resamples=200)
    assert [k.label for k in cmp.classes] == [CPU, GPU]
    fronts = {k.label: {m.point.model for m in k.analysis.front} for k in cmp.classes}
    assert fronts == {CPU: {"small", "mid", "big"}, GPU: {"small", "big"}}
    energy = {k.label: k.energy_label for k in cmp.classes}
    assert energy == {CPU: "estimated (estimate)", GPU: "measured (nvml+rapl)"}
    ratios = {r.model: r for r in cmp.ratios}
    assert set(ratios) == set(QUALITY)
    for model, r in ratios.items():
        assert (r.numerator, r.denominator) == (CPU, GPU)
        e_cpu = np.mean([ENERGY[CPU][model] * scale(k) for k in (0, 1)])
        e_gpu = np.mean([ENERGY[GPU][model] * scale(k) for k in (2, 3)])
        assert r.energy.ratio == pytest.approx(e_cpu / e_gpu)
        rtf = np.mean([RTF[CPU][model] * scale(k) for k in (0, 1)]) / np.mean(
            [RTF[GPU][model] * scale(k) for k in (2, 3)])
        assert r.get("rtf").ratio == pytest.approx(rtf)
        assert not r.energy.paired and r.energy.n_utterances == 0
        lo, hi = r.energy.ci95
        assert lo < r.energy.ratio < hi  # two values a side: the interval is not degenerate
        assert r.basis == "estimated/measured" and not r.both_measured
    assert "estimated/measured" in cmp.energy_warning


def test_two_runs_on_two_machines_are_paired(db):
    url, store = db
    cpu_run = write_run(store, dict.fromkeys(UTTS, EPYC), host="node-a")
    gpu_run = write_run(store, dict.fromkeys(UTTS, GPU), device="cuda", host="node-b")
    cmp = compare_hardware([load_run(url, str(cpu_run)), load_run(url, str(gpu_run))],
                           n_resamples=200)
    assert cmp.runs == (cpu_run, gpu_run)
    assert [(k.label, k.runs, k.hostnames) for k in cmp.classes] == [
        (EPYC, (cpu_run,), ("node-a",)), (GPU, (gpu_run,), ("node-b",))]
    for r in cmp.ratios:
        expected = ENERGY[EPYC][r.model] / ENERGY[GPU][r.model]
        assert r.energy.paired and r.energy.n_utterances == 4
        # the same utterances on both: every resample keeps the per-utterance ratio
        assert r.energy.ratio == pytest.approx(expected)
        assert r.energy.ci95 == pytest.approx((expected, expected))
        assert r.get("rtf").ratio == pytest.approx(RTF[EPYC][r.model] / RTF[GPU][r.model])
        assert r.both_measured and r.numerator_energy == "measured (rapl)"
    assert cmp.energy_warning is None


def test_rows_without_hardware_fall_back_to_the_run_environment(db):
    url, store = db
    old = write_run(store, dict.fromkeys(UTTS), env_hw={"cpu_model": "Old CPU", "sockets": 2})
    new = write_run(store, dict.fromkeys(UTTS, GPU), device="cuda")
    runs = [load_run(url, str(old)), load_run(url, str(new))]
    assert list(group_by_hardware(runs)) == ["cpu:Old CPU x2", GPU]


def test_same_class_in_two_runs_is_split_by_run(db):
    url, store = db
    a = write_run(store, dict.fromkeys(UTTS, EPYC))
    b = write_run(store, dict.fromkeys(UTTS, EPYC), device="cpu:again")
    groups = group_by_hardware([load_run(url, str(a)), load_run(url, str(b))])
    assert list(groups) == [f"{EPYC} (run {a})", f"{EPYC} (run {b})"]
    assert all(len(rows) == 12 for rows in groups.values())


def test_cli_by_hardware_json(db, capsys):
    url, store = db
    cpu_run = write_run(store, dict.fromkeys(UTTS, EPYC))
    gpu_run = write_run(store, dict.fromkeys(UTTS, GPU), device="cuda")
    assert main(["pareto", "--db", url, "--by", "hardware", "--run", f"{cpu_run},{gpu_run}",
                 "--json", "--resamples", "50"]) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout is one JSON document
    assert doc["by"] == "hardware" and doc["runs"] == [cpu_run, gpu_run]
    assert doc["ratio_columns"] == ["energy_j_per_audio_s", "rtf"]
    assert [c["hardware"] for c in doc["classes"]] == [EPYC, GPU]
    gpu = doc["classes"][1]
    assert gpu["energy"] == "measured (nvml+rapl)" and gpu["energy_kind"] == "measured"
    assert {m["model"] for m in gpu["front"]} == {"small", "big"}
    assert {"models", "cost_only", "unranked", "n_rows", "hypervolume"} <= set(gpu)
    ratio = next(r for r in doc["ratios"] if r["model"] == "mid")
    assert ratio["numerator"] == EPYC and ratio["denominator"] == GPU
    assert ratio["energy_basis"] == "measured/measured"
    assert ratio["energy"]["ratio"] == pytest.approx(5.0 / 2.0)
    assert ratio["rtf"]["ratio"] == pytest.approx(0.25 / 0.02)
    assert ratio["energy"]["paired"] is True and len(ratio["energy"]["ci95"]) == 2


def test_cli_by_hardware_table_on_stderr(db, capsys):
    url, store = db
    write_run(store, {"u1": CPU, "u2": CPU, "u3": GPU, "u4": GPU})
    assert main(["pareto", "--db", url, "--by", "hardware", "--resamples", "20"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{CPU} ÷ {GPU}: ratio of means" in err and "estimated/measured" in err
    assert "unpaired" in err and "warning" in err


def test_cli_exit_codes(db, capsys):
    url, store = db
    a = write_run(store, dict.fromkeys(UTTS, EPYC))
    b = write_run(store, dict.fromkeys(UTTS, GPU), metrics=("dnsmos_ovrl", "stoi"))
    c = write_run(store, dict.fromkeys(UTTS, GPU), corpus="ljspeech:/data/LJSpeech-1.1")
    base = ["pareto", "--db", url, "--resamples", "10", "--json"]
    assert main([*base, "--by", "hardware", "--run", f"{a},{b}"]) == 2
    assert "metrics" in capsys.readouterr().err
    with pytest.raises(UsageError, match=r"differ in corpus \(run \d+: 'default'"):
        compare_hardware([load_run(url, str(a)), load_run(url, str(c))])
    assert main([*base, "--run", f"{a},{c}"]) == 2  # several runs need --by hardware
    assert "--by hardware" in capsys.readouterr().err
    assert main([*base, "--by", "hardware", "--run", f"{a},{a}"]) == 2
    # nothing rankable (no weights, no quality) on any class: exit 1
    d = write_run(store, dict.fromkeys(UTTS, GPU), weights=False, corpus="x")
    assert main([*base, "--by", "hardware", "--run", str(d)]) == 1


def test_report_section_across_hardware(db, tmp_path, capsys):
    url, store = db
    cpu_run = write_run(store, {"u1": CPU, "u2": CPU, "u3": GPU, "u4": GPU})
    add_run_node(store, cpu_run, "node-gpu/gpu:GPU-1234", hostname="gpu-box", hardware=GPU,
                 idle_power_w=61.5, idle_method="nvml", environment={})
    out = tmp_path / "report"
    assert main(["report", "--db", url, "--run", str(cpu_run), "--out", str(out),
                 "--no-context", "--json", "--resamples", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["hardware_classes"] == [CPU, GPU]
    png = out / "across_hardware.png"
    assert str(png) in doc["figures"] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    section = html[html.index("<h2>Across hardware</h2>"):html.index("<h2>Deployment")]
    assert section.count("data:image/png;base64,") == 1
    assert "estimated (estimate)" in section and "measured (nvml+rapl)" in section
    assert "estimated/measured" in section and "Warning" in section
    assert "pool them per model" in html
    assert "61.5 W (nvml) on gpu-box" in section
    # the ratio of mid: mean of u1, u2 on the CPU ÷ mean of u3, u4 on the GPU
    mid = re.search(r"<td class=\"l\">mid</td>.*?</tr>", section).group(0)
    expected = (10.0 * (1.0 + 1.5) / 2) / (2.0 * (2.0 + 2.5) / 2)
    assert f"<td>{expected:.3g}</td>" in mid


def test_report_of_several_runs(db, tmp_path, capsys):
    url, store = db
    a = write_run(store, dict.fromkeys(UTTS, EPYC))
    b = write_run(store, dict.fromkeys(UTTS, GPU), device="cuda")
    assert main(["report", "--db", url, "--run", f"{a},{b}", "--out", str(tmp_path),
                 "--no-context", "--json", "--resamples", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == [a, b] and doc["hardware_classes"] == [EPYC, GPU]
    assert len(doc["figures"]) == 4 and doc["figures"][-1].endswith("across_hardware.png")
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Across hardware</h2>" in html and f"show run {a} alone" in html
    assert "pool them" not in html  # each run is one class
    assert "paired, 4 utterances" in html and "measured/measured" in html


def test_report_of_one_class_has_no_section(db, tmp_path):
    url, store = db
    run = write_run(store, dict.fromkeys(UTTS, GPU))
    report = render_report(*load_run(url, str(run)), tmp_path, n_resamples=20)
    html = report.html.read_text()
    assert "Across hardware</h2>" not in html and f"Hardware class: {GPU}" in html
    assert len(report.figures) == 3 and not (tmp_path / "across_hardware.png").exists()
