"""What a result needs to be reproduced: hardware, library versions, git commit, command line."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from greenvoc import __version__
from greenvoc.energy.tdp import cpu_info

#: Libraries whose version changes a figure; recorded when installed.
TRACKED_PACKAGES = (
    "numpy", "torch", "psutil", "sqlalchemy", "nvidia-ml-py", "onnxruntime", "librosa",
    "soxr", "soundfile", "pesq", "pystoi", "pysptk", "speechmos",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "greenvoc": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.cache
def git_commit(path: str | None = None) -> str | None:
    """The commit of the greenvoc checkout (``+dirty`` if modified), or None outside git."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where, capture_output=True, text=True, timeout=5,
        )
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def hardware() -> dict[str, Any]:
    info = cpu_info()
    hw: dict[str, Any] = {
        "cpu_model": info.model_name,
        "logical_cpus": info.logical_cpus,
        "physical_cores": info.physical_cores,
        "sockets": info.sockets,
        "ram_gb": round(psutil.virtual_memory().total / 1e9, 2),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        hw["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            hw["cuda_devices"] = [
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            ]
    return hw


def hardware_class(device: str = "cpu", gpu_name: str | None = None, *,
                   cpu_model: str | None = None, sockets: int | None = None) -> str:
    """The hardware class that measured a result, as stored in ``results.hardware``.

    ``gpu:<gpu_name>`` for a CUDA device (``gpu_name`` defaults to torch's name of ``device``
    when torch has CUDA, else ``unknown GPU``); ``cpu:<cpu model> x<sockets>`` otherwise. The CPU
    facts default to this machine's; pass stored ones (``cpu_model``, ``sockets``) to label rows
    measured elsewhere (``x?`` when the socket count was not recorded).
    """
    if device.startswith("cuda") or gpu_name:
        if gpu_name is None:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                index = int(device.split(":", 1)[1]) if ":" in device else 0
                gpu_name = torch.cuda.get_device_name(index)
        return f"gpu:{gpu_name or 'unknown GPU'}"
    if cpu_model is None:
        info = cpu_info()
        cpu_model, sockets = info.model_name, info.sockets
    return f"cpu:{cpu_model} x{sockets if sockets is not None else '?'}"


def environment() -> dict[str, Any]:
    """Everything above in one dict, as stored next to every result."""
    return {
        "hardware": hardware(),
        "versions": library_versions(),
        "git_commit": git_commit(),
        "argv": sys.argv,
    }
