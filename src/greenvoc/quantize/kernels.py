"""Which int8 kernels run here: the CPU's ISA and onnxruntime's per-op profile.

onnxruntime's MLAS library picks its int8 GEMM/convolution kernels by CPUID at start-up
(``mlas/lib/platform.cpp``): AMX where the CPU and OS allow it, else AVX-512 VNNI, else AVX-VNNI,
else AVX-512BW ("core"), else AVX2 (``vpmaddubsw``, whose 16-bit intermediate sums can
saturate with uint8 × int8: onnxruntime's quantization docs advise ``reduce_range`` there). It
does not say which it took, so :func:`int8_isa` infers it from the flags and says so;
:func:`profile_ops` measures which operators ran and their share of the time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from greenvoc.quantize.base import cpu_flags

#: (flag that enables the path, MLAS kernel family), best first.
_INT8_PATHS = (
    ("amx_int8", "AMX (tile int8)"),
    ("avx512_vnni", "AVX-512 VNNI (vpdpbusd)"),
    ("avx_vnni", "AVX-VNNI (vpdpbusd, 256-bit)"),
    ("avx512bw", "AVX-512BW core (vpmaddubsw, may saturate)"),
    ("avx2", "AVX2 (vpmaddubsw, may saturate)"),
)


def int8_isa() -> dict[str, object]:
    """The ISA flags relevant to int8/float kernels and the MLAS int8 path they select."""
    flags = cpu_flags()
    path = next((name for flag, name in _INT8_PATHS if flag in flags), "SSE (no AVX2)")
    import torch

    return {
        "flags": sorted(f for f in flags if f.startswith(("avx", "amx")) or "vnni" in f),
        "mlas_int8_path": path,
        "mlas_int8_path_basis": "inferred from /proc/cpuinfo flags (MLAS dispatches by CPUID)",
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def profile_ops(path: Path, mel: np.ndarray, workdir: Path, threads: int = 1,
                runs: int = 2) -> dict[str, dict[str, float]]:
    """Run the ONNX graph at ``path`` ``runs`` times with onnxruntime's profiler; per operator
    type that ran: node executions per run and share of the kernel time (0–1)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(workdir / "ort_profile")
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(runs):
        session.run(None, {name: mel.astype(np.float32)})
    profile = Path(session.end_profiling())
    events = json.loads(profile.read_text())
    profile.unlink()
    time_us: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for e in events:
        args = e.get("args") or {}
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = args.get("op_name", "?")
            time_us[op] += float(e.get("dur", 0))
            count[op] += 1
    total = sum(time_us.values()) or 1.0
    return {op: {"nodes_per_run": count[op] / runs, "time_share": time_us[op] / total}
            for op in sorted(time_us, key=time_us.__getitem__, reverse=True)}
