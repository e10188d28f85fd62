"""``greenvoc zoo list|info|pull`` and ``greenvoc vocode``: the vocoder zoo from the shell."""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.commands._output import add_json_flag, console, emit_json
from greenvoc.vocoders import get_spec, list_specs, load_vocoder
from greenvoc.vocoders.inspect import count_params
from greenvoc.vocoders.pull import pull_checkpoint
from greenvoc.vocoders.registry import has_usable_weights, weights_path


def register(subparsers) -> None:
    zoo = subparsers.add_parser("zoo", help="list, describe and download the vocoder zoo")
    sub = zoo.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="every registered vocoder")
    add_json_flag(p)
    p.set_defaults(func=run_list)
    p = sub.add_parser("info", help="one vocoder's config, front-end and weights")
    p.add_argument("name")
    add_json_flag(p)
    p.set_defaults(func=run_info)
    p = sub.add_parser("pull", help="download a public checkpoint (sha256-checked) to the cache")
    p.add_argument("name")
    p.add_argument("--url", help="download from this address instead (a mirror)")
    add_json_flag(p)
    p.set_defaults(func=run_pull)

    v = subparsers.add_parser("vocode", help="copy-synthesis of one file with one vocoder")
    v.add_argument("name")
    v.add_argument("input", help="audio file (resampled to the model's rate)")
    v.add_argument("output", help="wav written at the model's rate")
    v.add_argument("--weights", help="checkpoint path (default: the entry's own weights)")
    v.add_argument("--device", default="cpu")
    add_json_flag(v)
    v.set_defaults(func=run_vocode)


def _row(spec) -> dict:
    return {
        "name": spec.name,
        "family": spec.family,
        "params": count_params(spec),
        "published_params": spec.published_params,
        "sample_rate": spec.sample_rate,
        "hop_length": spec.hop_length,
        "mel_preset": spec.mel_preset,
        "weights": spec.weights.kind,
        "weights_available": has_usable_weights(spec),
        "uses_waveform": spec.uses_waveform,
    }


def run_list(args: argparse.Namespace) -> int:
    rows = [_row(s) for s in list_specs()]
    if args.json:
        emit_json(rows)
        return 0
    table = Table(title=f"greenvoc zoo: {len(rows)} vocoders")
    for col in ("name", "family", "params", "rate (Hz)", "mel", "weights"):
        table.add_column(col, justify="right" if col in ("params", "rate (Hz)") else "left")
    for r in rows:
        avail = "yes" if r["weights_available"] else f"no ({r['weights']})"
        params = f"{r['params']:,}" if r["params"] is not None else "?"
        table.add_row(r["name"], r["family"], params, str(r["sample_rate"]), r["mel_preset"],
                      avail)
    console.print(table)
    return 0


def run_info(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    doc = spec.to_dict() | _row(spec)
    path = weights_path(spec)
    doc["weights_path"] = str(path) if path else None
    if args.json:
        emit_json(doc)
        return 0
    for key, value in doc.items():
        console.print(f"[bold]{key}[/]: {value}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, disable=args.json) as bar:
        task = bar.add_task(f"pull {spec.name}", total=None)
        path, digest = pull_checkpoint(
            spec, url=args.url, progress=lambda done, total: bar.update(task, completed=done,
                                                                       total=total))
    doc = {"name": spec.name, "path": str(path), "sha256": digest,
           "verified": spec.weights.sha256 is not None}
    if args.json:
        emit_json(doc)
    else:
        check = "verified" if doc["verified"] else "no published hash: recorded"
        console.print(f"{spec.name}: {path} (sha256 {digest}, {check})")
    return 0


def run_vocode(args: argparse.Namespace) -> int:
    voc = load_vocoder(args.name, weights=args.weights, device=args.device)
    audio = load_audio(args.input, sample_rate=voc.sample_rate)
    out = voc.copy_synthesize(audio.samples).detach().cpu().numpy().reshape(-1)
    save_audio(args.output, out, voc.sample_rate)
    doc = {"name": voc.name, "input": args.input, "output": args.output,
           "sample_rate": voc.sample_rate, "audio_s": len(out) / voc.sample_rate,
           "has_weights": voc.has_weights}
    if not voc.has_weights:
        console.print(f"[yellow]note:[/] {voc.name} has no weights here: the output comes from "
                      "a random initialisation (useful for cost, not for listening)")
    if args.json:
        emit_json(doc)
    else:
        console.print(f"{voc.name}: wrote {args.output} ({doc['audio_s']:.2f} s at "
                      f"{voc.sample_rate} Hz)")
    return 0
