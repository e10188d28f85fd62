"""``greenvoc zoo list|info|pull`` and ``greenvoc vocode``: the vocoder zoo from the shell."""

from __future__ import annotations

import argparse

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_json_flag, console, emit_json


def register(subparsers) -> None:
    zoo = add_command_parser(subparsers, "zoo")
    sub = zoo.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="every registered vocoder (from the zoo index: builds "
                       "no model)")
    add_json_flag(p)
    p.set_defaults(func=run_list)
    p = sub.add_parser("info", help="one vocoder's config, front-end and weights")
    p.add_argument("name")
    add_json_flag(p)
    p.set_defaults(func=run_info)
    p = sub.add_parser("pull", help="download a published checkpoint to the cache (sha256-"
                       "checked, unpacked, loaded once before it is recorded)")
    p.add_argument("name")
    p.add_argument("--url", help="download from this address instead (a mirror)")
    p.add_argument("--sha256", help="the file's expected sha256 (pins an unverified entry)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    add_json_flag(p)
    p.set_defaults(func=run_pull)

    v = add_command_parser(subparsers, "vocode")
    v.add_argument("name")
    v.add_argument("input", help="audio file (resampled to the model's rate)")
    v.add_argument("output", help="wav written at the model's rate")
    v.add_argument("--weights", help="checkpoint path (default: the entry's own weights)")
    v.add_argument("--device", default="cpu")
    add_json_flag(v)
    v.set_defaults(func=run_vocode)


def _row(spec) -> dict:
    from greenvoc.vocoders.index import ZooEntry

    return ZooEntry.from_spec(spec).row()


def run_list(args: argparse.Namespace) -> int:
    from greenvoc.vocoders.index import zoo_entries

    entries, from_index = zoo_entries()
    if not from_index:
        console.print("[yellow]note:[/] the zoo index is older than the families' sources: "
                      "listed from the registry (slow); regenerate it with "
                      "`python -m greenvoc.vocoders.index`")
    rows = [e.row() for e in entries]
    if args.json:
        emit_json(rows)
        return 0
    from rich.table import Table

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
    from greenvoc.vocoders.pull import integrity
    from greenvoc.vocoders.registry import get_spec, weights_path

    spec = get_spec(args.name)
    doc = spec.to_dict() | _row(spec)
    path = weights_path(spec)
    doc["weights_path"] = str(path) if path else None
    doc["integrity"] = integrity(spec)
    if args.json:
        emit_json(doc)
        return 0
    for key, value in doc.items():
        console.print(f"[bold]{key}[/]: {value}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from greenvoc.vocoders.pull import pull_checkpoint
    from greenvoc.vocoders.registry import get_spec

    spec = get_spec(args.name)
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, disable=args.json) as bar:
        task = bar.add_task(f"pull {spec.name}", total=None)
        result = pull_checkpoint(
            spec, url=args.url, sha256=args.sha256, force=args.force,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    if args.json:
        emit_json(result.to_dict())
        return 0
    console.print(f"{spec.name}: {result.path}")
    console.print(f"sha256 {result.sha256}")
    if result.verified:
        console.print(f"verified ({result.verified})")
    else:
        console.print(f"[yellow]unverified:[/] no published sha256 for {result.url}. Check the "
                      "hash above against another copy, then pin it: greenvoc zoo pull "
                      f"{spec.name} --sha256 {result.sha256}")
    return 0


def run_vocode(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from greenvoc.audio.io import load_audio, save_audio
    from greenvoc.vocoders.registry import load_vocoder

    voc = load_vocoder(args.name, weights=args.weights, device=args.device)
    audio = load_audio(args.input, sample_rate=voc.sample_rate)
    if voc.spec.uses_waveform:  # analysis–synthesis (WORLD): the waveform in one call
        out = voc.copy_synthesize(audio.samples)
    else:
        mel = voc.mel(audio.samples).to(voc.device)
        chunks = voc.chunk_count(mel.shape[-1])
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, disable=args.json or chunks == 1) as bar:
            task = bar.add_task(f"vocode {voc.name} ({chunks} chunks)", total=chunks)
            out = voc.synthesize_long(
                mel, on_chunk=lambda done, total: bar.update(task, completed=done, total=total))
    out = out.detach().cpu().numpy().reshape(-1)
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
