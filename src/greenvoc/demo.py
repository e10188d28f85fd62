"""The built-in demonstration: meter a real PyTorch workload shaped like a vocoder's.

Until the benchmark lands, ``greenvoc demo`` (``make demo``) runs a stack of 1-D convolutions
over one second of 22.05 kHz "audio" with 512 channels — the shape of a HiFi-GAN V1 stage — at
one thread and at every thread, plus an idle window, each inside its own meter window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from greenvoc.energy.measurement import Measurement
from greenvoc.energy.meter import EnergyMeter


@dataclass(frozen=True)
class ConvWorkload:
    """A conv stack: ``layers`` Conv1d(channels, channels, kernel) over ``frames`` time steps."""

    channels: int = 128
    kernel: int = 7
    layers: int = 4
    frames: int = 22050
    iterations: int = 6
    seed: int = 0

    @property
    def macs_per_iteration(self) -> int:
        return self.layers * self.channels * self.channels * self.kernel * self.frames

    def build(self) -> Callable[[], torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed)
        convs = [
            torch.nn.Conv1d(self.channels, self.channels, self.kernel, padding=self.kernel // 2)
            for _ in range(self.layers)
        ]
        for conv in convs:
            for p in conv.parameters():
                p.data = torch.randn(p.shape, generator=gen) * 0.05
        x = torch.randn(1, self.channels, self.frames, generator=gen)

        def step() -> torch.Tensor:
            with torch.inference_mode():
                h = x
                for conv in convs:
                    h = torch.nn.functional.leaky_relu(conv(h), 0.1)
                return h

        return step


def run_demo(
    meter: EnergyMeter, workload: ConvWorkload | None = None, idle_s: float = 1.0
) -> list[Measurement]:
    """Meter an idle window, then the workload at 1 thread and at all threads."""
    workload = workload or ConvWorkload()
    step = workload.build()
    step()  # warm-up: allocations and kernel selection stay outside the windows
    previous_threads = torch.get_num_threads()
    results = []
    with meter.window("idle"):
        time.sleep(idle_s)
    results.append(meter["idle"])
    for threads in sorted({1, previous_threads}):
        torch.set_num_threads(threads)
        name = f"conv {threads} thread{'s' if threads > 1 else ''}"
        with meter.window(name):
            for _ in range(workload.iterations):
                step()
        results.append(meter[name])
    torch.set_num_threads(previous_threads)
    return results


#: Architectures left out of the demo's cost-only sweep: one second of their audio costs
#: minutes on a 2-core CPU (sample-by-sample autoregression: WaveNet ~15 min, WaveRNN ~2 min;
#: 25-step WaveGrad ~16 s). `greenvoc bench --models NAME` measures them.
DEMO_SKIP = frozenset({"wavenet-mol", "wavernn", "wavegrad-25"})


def demo_models() -> tuple[str, ...]:
    """Every zoo entry with weights (official HiFi-GAN, DSP baselines) for cost and quality,
    then every other architecture for cost only, except :data:`DEMO_SKIP`."""
    from greenvoc.vocoders import list_specs
    from greenvoc.vocoders.registry import has_usable_weights

    specs = list_specs()
    ready = [s.name for s in specs if has_usable_weights(s)]
    rest = [s.name for s in specs if s.name not in ready and s.name not in DEMO_SKIP]
    return (*ready, *rest)
