"""``greenvoc quantize NAME --variant V``: build one variant, write it, check it against fp32.

The calibration corpus (default: the built-in one) is split: one clip, a real recording where
there is one, is held out for the quality check (SNR and log-mel L1 of the variant's audio
against the fp32 model's on that clip); the others calibrate. The variant's files are written
under ``--out``. ``int8-qat`` first fine-tunes its student (``--steps``, metered, stored in the
training tables of ``--db``) on espeak-ng speech, never on the corpus's real clips, and saves
it there as ``student.pt`` for ``bench --variants …,int8-qat``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.errors import UsageError

MAX_CALIBRATION = 4


def register(subparsers) -> None:
    p = add_command_parser(subparsers, "quantize")
    p.add_argument("name", help="zoo model (see `greenvoc zoo list`)")
    p.add_argument("--variant", required=True,
                   help="int8-static, int8-mixed, onnx-int8, int4-weight-only, … "
                   "(an unknown name lists them all)")
    p.add_argument("--calibration", default="default", metavar="CORPUS",
                   help="corpus of calibration speech: default, a folder, or FORMAT:PATH")
    p.add_argument("--max-frames", type=int, default=256,
                   help="crop each calibration and check clip to N mel frames (default 256)")
    p.add_argument("--weights", help="checkpoint path (default: the entry's own weights)")
    p.add_argument("--out", help="folder for the artefact (default "
                   "greenvoc-results/quantized/NAME-VARIANT)")
    p.add_argument("--steps", type=int, help="int8-qat: fine-tuning steps (default 300)")
    p.add_argument("--device", default="cpu", help="int8-qat: fine-tune on cpu or cuda")
    p.add_argument("--threads", type=int, help="torch intra-op threads")
    p.add_argument("--seed", type=int, default=0, help="int8-qat: seed of every draw")
    add_db_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def split_corpus(utterances: list, corpus: str) -> tuple[list, object]:
    """(calibration utterances, held-out utterance): the last real clip is held out."""
    if not utterances:
        raise UsageError(f"calibration corpus {corpus!r} is empty: give a folder of speech "
                         "recordings (wav/flac) or 'default'")
    ordered = sorted(utterances, key=lambda u: u.id)
    real = [u for u in ordered if not getattr(u, "synthetic", False)]
    held = (real or ordered)[-1]
    rest = [u for u in ordered if u.id != held.id]
    return (rest or [held])[:MAX_CALIBRATION], held


def quantize(args: argparse.Namespace) -> dict:
    import torch

    from greenvoc.audio.formats import open_corpus
    from greenvoc.quantize import get_variant
    from greenvoc.quantize.report import fidelity, speech_mels
    from greenvoc.vocoders.registry import load_vocoder

    variant = get_variant(args.variant)
    if args.steps is not None and variant.name != "int8-qat":
        raise UsageError(f"--steps fine-tunes int8-qat only; {variant.name} is built without "
                         "training")
    if args.max_frames < 8:
        raise UsageError(f"--max-frames must be at least 8, got {args.max_frames}")
    if args.threads:  # calibration, export, check and fine-tuning alike
        torch.set_num_threads(args.threads)
    voc = load_vocoder(args.name, weights=args.weights)
    calibration, held = split_corpus(list(open_corpus(args.calibration).utterances),
                                     args.calibration)
    mels = speech_mels(voc, [u.path for u in calibration], max_frames=args.max_frames)
    (check,) = speech_mels(voc, [held.path], max_frames=args.max_frames)
    out = Path(args.out or f"greenvoc-results/quantized/{voc.name}-{variant.name}")
    qat = finetune_student(voc, args, out) if variant.name == "int8-qat" else None
    result = variant.apply(voc, mels if variant.needs_calibration else None, out)
    fp32_bytes = get_variant("fp32").apply(voc, None, out / "reference").bytes_on_disk
    with torch.inference_mode():
        f = fidelity(result.vocoder.synthesize(check), voc.synthesize(check), voc.sample_rate)
    return {
        "model": voc.name, "variant": variant.name, "has_weights": voc.has_weights,
        "out": str(out), "files": sorted(str(p) for p in out.iterdir() if p.is_file()),
        "bytes_on_disk": result.bytes_on_disk, "fp32_bytes_on_disk": fp32_bytes,
        "size_ratio": fp32_bytes / result.bytes_on_disk,
        "calibration": [u.id for u in calibration] if variant.needs_calibration else [],
        "check_clip": held.id,
        "check_held_out": held.id not in {u.id for u in calibration},
        "check_frames": int(check.shape[-1]),
        "fidelity": f.to_dict(),
        "detail": result.detail,
    } | ({"qat": qat} if qat else {})


def finetune_student(voc, args: argparse.Namespace, out: Path) -> dict:
    """Fine-tune the int8-qat student (metered, stored in the training tables of --db) and
    save it in ``out``; returns what the summary prints."""
    from greenvoc.quantize.qat import STUDENT_FILE, QatConfig, finetune, save_student
    from greenvoc.store import ResultStore

    steps = args.steps if args.steps is not None else QatConfig.steps
    cfg = QatConfig(steps=steps, device=args.device, seed=args.seed)
    every = max(1, steps // 20)

    def log(step: int, losses: dict, joules: float) -> None:
        if not args.json and (step % every == 0 or step == steps):
            console.print(f"int8-qat step {step}/{steps}: loss {losses['total']:.4f} "
                          f"(stft {losses['stft']:.4f}, mel {losses['mel_l1']:.4f}), "
                          f"{joules:.3g} J")

    store = ResultStore(args.db)
    result = finetune(voc, cfg, store=store, log=log)
    save_student(result, out / STUDENT_FILE)
    r = result.record
    return {"steps": r["steps"], "energy_j": r["energy_j"], "energy_label": r["energy_label"],
            "wall_s": r["wall_s"], "train_run_id": r["train_run_id"], "db": store.display_url,
            "kept_float": [p["layer"] for p in r["plan"] if p["mode"] != "int8"],
            "loss_first_steps": r["loss_first_steps"], "loss_last_steps": r["loss_last_steps"]}


def run(args: argparse.Namespace) -> int:
    doc = quantize(args)
    if args.json:
        emit_json(doc)
        return 0
    table = Table(title=f"{doc['model']} → {doc['variant']} ({doc['out']})")
    for col in ("size (MB)", "fp32 (MB)", "smaller", "SNR vs fp32 (dB)", "mel L1 (nats)"):
        table.add_column(col, justify="right")
    f = doc["fidelity"]
    table.add_row(f"{doc['bytes_on_disk'] / 1e6:.2f}", f"{doc['fp32_bytes_on_disk'] / 1e6:.2f}",
                  f"{doc['size_ratio']:.2f}×", f"{f['snr_db']:.1f}", f"{f['mel_l1_nats']:.3f}")
    console.print(table)
    held = "held out" if doc["check_held_out"] else "NOT held out (one clip only)"
    console.print(f"check clip {doc['check_clip']} ({held}); calibration: "
                  f"{', '.join(doc['calibration']) or 'none needed'}")
    if not doc["has_weights"]:
        console.print("[yellow]random weights: fidelity to fp32 only, not speech quality[/]")
    if doc.get("qat"):
        q = doc["qat"]
        console.print(f"fine-tuning: {q['steps']} steps in {q['wall_s']:.0f} s, "
                      f"{q['energy_j']:.4g} J {q['energy_label']} (training run "
                      f"{q['train_run_id']} in {q['db']}); kept float: "
                      f"{', '.join(q['kept_float'])}")
    low = doc["detail"].get("low_precision_ops")
    console.print(f"low-precision ops: {low if low else 'none (float compute)'}")
    return 0
