"""Cost of each mel front-end: milliseconds of compute per second of audio, per preset.

The front-end runs before every vocoder call, so its cost belongs in the energy budget. Uses the
clips of the ``default`` corpus, resampled to each preset's rate, float32, batch of one.

    python benchmarks/mel_frontends.py [--repeats 20] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from greenvoc.audio import MEL_PRESETS, default_corpus, mel_spectrogram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    corpus = default_corpus()
    print(
        f"{len(corpus)} clips, {corpus.total_duration_s:.1f} s; torch threads "
        f"{torch.get_num_threads()}; device {args.device}"
    )
    print(f"{'preset':<20} {'ms per audio s':>15} {'frames/s':>9}")
    for name, config in MEL_PRESETS.items():
        clips = [
            torch.from_numpy(u.load(config.sample_rate).samples).to(args.device) for u in corpus
        ]
        audio_s = sum(c.numel() for c in clips) / config.sample_rate
        for clip in clips:  # warm-up: basis cache, kernels
            mel_spectrogram(clip, config)
        timings = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for clip in clips:
                mel_spectrogram(clip, config)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            timings.append(time.perf_counter() - start)
        ms_per_s = 1000 * statistics.median(timings) / audio_s
        print(f"{name:<20} {ms_per_s:>15.3f} {config.frame_rate_hz:>9.1f}")


if __name__ == "__main__":
    main()
