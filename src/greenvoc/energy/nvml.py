"""NVIDIA GPU energy through NVML (module ``pynvml``, package ``nvidia-ml-py``: the ``gpu`` extra).

Each visible GPU is one component ``gpu:N`` (domain ``gpu:N``, N the physical NVML index), read
one of two ways, chosen per device when the reader opens:

``total_energy_counter`` (Volta and newer): ``nvmlDeviceGetTotalEnergyConsumption``, millijoules
    since the driver was loaded; a span's energy is the difference of two reads. The counter
    moves in steps about :data:`COUNTER_MIN_WINDOW_S` apart: shorter windows can read zero, so
    the meter charges them the power reading × their duration (method ``nvml-instant``, not
    labelled measured), as Zeus's ``approx_instant_energy`` does.
``power_polling`` (older GPUs, where the counter raises ``NVML_ERROR_NOT_SUPPORTED``):
    ``nvmlDeviceGetPowerUsage`` (milliwatts) integrated over ``time.monotonic()`` by the
    trapezoid rule between successive reads; ``poll_interval_s`` (the meter's ``interval_s``)
    makes the meter's sampler read often enough. A failed poll is never interpolated across: the
    next good read restarts the integral and the meter charges the unsampled span at
    :meth:`NvmlReader.fallback_power` (method ``nvml+estimate``). The counter is preferred: on
    A100/H100 the power reading is an average and samples only about 25 % of the runtime
    (arXiv 2312.02741), so it misses short bursts.

Devices follow ``CUDA_VISIBLE_DEVICES`` as CUDA does: unset, every GPU; empty, none; otherwise a
comma list of indices, ``GPU-…`` UUIDs (a unique prefix suffices) or ``MIG-…`` UUIDs, read up to
the first entry that matches no GPU. A MIG instance is measured as its whole physical GPU: NVML
has no per-instance energy.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from greenvoc.energy.source import ComponentInfo, EnergySource, PowerFigure, Reading
from greenvoc.errors import CounterUnavailable

logger = logging.getLogger(__name__)

COUNTER = "total_energy_counter"
POLLING = "power_polling"
#: Windows shorter than this (s) are below the resolution of the total-energy counter.
COUNTER_MIN_WINDOW_S = 0.1
DEFAULT_POLL_INTERVAL_S = 0.1
#: Why a GPU's unread span is charged at its enforced power limit: an upper bound, so that a
#: failed read never makes a GPU look cheaper than it was.
POWER_LIMIT_BASIS = (
    "the GPU's enforced power limit read at open: an upper bound on its average draw, so the "
    "span is never undercounted"
)
LAST_POWER_BASIS = "the GPU's last good power reading (its power limit is unknown)"
INSTANT_BASIS = (
    "nvmlDeviceGetPowerUsage at the window's end; on A100/H100 this reading is a ~1 s average, "
    "not the power of this window alone"
)
INSTALL_HINT = "pip install 'greenvoc[gpu]'"
_FUNCTION = {COUNTER: "nvmlDeviceGetTotalEnergyConsumption", POLLING: "nvmlDeviceGetPowerUsage"}

_INIT_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "libnvidia-ml.so.1 not found: no NVIDIA driver installed",
    "NVML_ERROR_DRIVER_NOT_LOADED": "the NVIDIA driver is not loaded (does nvidia-smi work?)",
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": "NVML and driver versions differ (reboot pending?)",
    "NVML_ERROR_NO_PERMISSION": "no permission to open the NVIDIA devices",
}


def _init_reason(nvml: Any, error: Exception) -> str:
    for constant, reason in _INIT_REASONS.items():
        if getattr(error, "value", None) == getattr(nvml, constant, None):
            return reason
    return f"NVML failed to initialise: {error}"


def _text(value: str | bytes) -> str:
    # nvidia-ml-py before 11.515 returns bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(eq=False)
class _Gpu:
    """Per-device state. Energies in J unless the name says otherwise."""

    index: int
    handle: Any
    name: str
    uuid: str
    power_limit_w: float | None
    mig: bool
    method: str = COUNTER
    counter_error: str = ""
    last_energy_mj: int = 0
    total_energy_mj: int = 0
    last_t: float = 0.0
    last_power_w: float = 0.0
    energy_j: float = 0.0
    stale: bool = False  # polling: the last poll failed, the next good one restarts the integral

    @property
    def component(self) -> str:
        return f"gpu:{self.index}"


def _visible_gpus(nvml: Any, count: int) -> list[tuple[int, bool]]:
    """``(NVML index, via MIG)`` of each GPU ``CUDA_VISIBLE_DEVICES`` selects, in its order."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is None:
        return [(index, False) for index in range(count)]
    inventory: list[tuple[str, str]] = []  # (uuid, name) by index, listed only when needed

    def devices() -> list[tuple[str, str]]:
        for index in range(len(inventory), count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                inventory.append(
                    (_text(nvml.nvmlDeviceGetUUID(handle)), _text(nvml.nvmlDeviceGetName(handle)))
                )
            except nvml.NVMLError:
                inventory.append(("", ""))
        return inventory

    selected: dict[int, bool] = {}
    for entry in (part.strip() for part in env.split(",")):
        index: int | None = None
        # Before driver R470 a MIG UUID was MIG-<parent GPU UUID>/<gi>/<ci>.
        uuid = entry[4:].split("/")[0] if entry.startswith("MIG-GPU-") else entry
        if entry.isdecimal():
            index = int(entry) if int(entry) < count else None
        elif uuid.startswith("GPU-"):
            matches = [i for i, (u, _) in enumerate(devices()) if u and u.startswith(uuid)]
            index = matches[0] if len(matches) == 1 else None
        elif entry.startswith("MIG-"):
            with contextlib.suppress(nvml.NVMLError):
                parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(
                    nvml.nvmlDeviceGetHandleByUUID(entry)
                )
                index = int(nvml.nvmlDeviceGetIndex(parent))
        if index is None:
            if entry:
                logger.warning(
                    "CUDA_VISIBLE_DEVICES entry %r matches no GPU: like CUDA, "
                    "greenvoc ignores it and every entry after it",
                    entry,
                )
            break
        selected.setdefault(index, entry.startswith("MIG-"))
    if (
        any(part.strip().isdecimal() for part in env.split(","))
        and os.environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID"
        and len({name for _, name in devices() if name}) > 1
    ):
        logger.warning(
            "CUDA_VISIBLE_DEVICES lists indices on a machine with different GPU models: CUDA "
            "numbers them fastest first, NVML by PCI bus; set CUDA_DEVICE_ORDER=PCI_BUS_ID so "
            "that gpu:N is the GPU the work runs on"
        )
    return list(selected.items())


class NvmlReader(EnergySource):
    """Cumulative joules per visible NVIDIA GPU since the reader was opened.

    nvml: the ``pynvml`` module or a stand-in with its API (tests pass
    :class:`greenvoc.testing.fake_nvml.FakeNvml`); ``None`` imports ``pynvml``.
    poll_interval_s: how often (s) power-polled GPUs must be read (``None`` if none is polled).
    clock: seconds, monotonic; the time base of power integration.

    Raises :class:`CounterUnavailable` when NVML cannot be loaded or initialised. GPUs that can
    be read neither way are left out, with the reason in :attr:`skipped`. One GPU failing a read
    does not stop the others (:meth:`read_components`). After a failed read, the energy counter
    covers the span it missed (it kept counting); polling does not (it cannot know what it did
    not sample): the next good poll restarts the integral and the meter charges the span.
    """

    method = "nvml"

    def __init__(
        self,
        nvml: Any = None,
        *,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if nvml is None:
            try:
                nvml = importlib.import_module("pynvml")
            except ImportError as e:
                raise CounterUnavailable(f"pynvml is not installed ({INSTALL_HINT})") from e
        self._nvml = nvml
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        #: Component name -> why that GPU is not measured.
        self.skipped: dict[str, str] = {}
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as e:
            raise CounterUnavailable(_init_reason(self._nvml, e)) from e
        try:
            #: GPUs NVML sees, visible or not.
            self.device_count = int(self._nvml.nvmlDeviceGetCount())
            visible = _visible_gpus(self._nvml, self.device_count)
            opened = [self._open(index, mig) for index, mig in visible]
        except self._nvml.NVMLError as e:
            self._shutdown()
            raise CounterUnavailable(f"NVML cannot list the GPUs: {e}") from e
        except BaseException:
            self._shutdown()
            raise
        self._gpus = [gpu for gpu in opened if gpu is not None]
        polling = any(gpu.method == POLLING for gpu in self._gpus)
        self.poll_interval_s = poll_interval_s if polling else None
        self._components = MappingProxyType(
            {gpu.component: self._info(gpu, poll_interval_s) for gpu in self._gpus}
        )
        self.notes = [f"{c} not measured: {why}" for c, why in self.skipped.items()]

    def _open(self, index: int, mig: bool) -> _Gpu | None:
        nvml = self._nvml
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name, uuid = nvml.nvmlDeviceGetName(handle), nvml.nvmlDeviceGetUUID(handle)
        except nvml.NVMLError as e:
            return self._skip(f"gpu:{index}", f"cannot open the device: {e}")
        gpu = _Gpu(index, handle, _text(name), _text(uuid), power_limit_w=None, mig=mig)
        with contextlib.suppress(nvml.NVMLError):
            gpu.power_limit_w = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
        try:
            gpu.last_energy_mj = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            return gpu
        except nvml.NVMLError as e:  # NVML_ERROR_NOT_SUPPORTED before Volta
            gpu.method, gpu.counter_error = POLLING, str(e)
        try:
            gpu.last_power_w = nvml.nvmlDeviceGetPowerUsage(handle) / 1000
            gpu.last_t = self._clock()
        except nvml.NVMLError as e:
            return self._skip(
                gpu.component,
                f"{gpu.name}: neither the energy counter ({gpu.counter_error}) "
                f"nor the power reading ({e}) is available",
            )
        return gpu

    def _skip(self, component: str, reason: str) -> None:
        self.skipped[component] = reason
        logger.warning("NVML: %s not measured: %s", component, reason)

    @staticmethod
    def _info(gpu: _Gpu, poll_interval_s: float) -> ComponentInfo:
        detail: dict[str, Any] = {
            "device": gpu.name,
            "uuid": gpu.uuid,
            "method": gpu.method,
            "min_window_s": COUNTER_MIN_WINDOW_S,
            "power_limit_w": gpu.power_limit_w,
        }
        if gpu.method == POLLING:
            detail["poll_interval_s"] = poll_interval_s
            detail["min_window_s"] = max(poll_interval_s, COUNTER_MIN_WINDOW_S)
            detail["counter_unavailable"] = gpu.counter_error
        if gpu.mig:
            detail["mig"] = "measured as the whole GPU: NVML has no per-instance energy"
        return ComponentInfo(name=gpu.component, domain=gpu.component, detail=detail)

    def components(self) -> Mapping[str, ComponentInfo]:
        return self._components

    def read(self) -> dict[str, float]:
        """Joules per ``gpu:N`` since the reader was opened; :class:`CounterUnavailable` naming
        each GPU, NVML function and error when a GPU cannot be read (the others are updated)."""
        energy_j, failures = self._read_each()
        if failures:
            what = "; ".join(self._failure(gpu, e) for gpu, e in failures)
            raise CounterUnavailable(f"NVML read failed: {what}") from failures[0][1]
        return energy_j

    def read_components(self) -> Reading:
        """Joules of every GPU that could be read; why each other one could not."""
        energy_j, failures = self._read_each()
        return Reading(
            energy_j, {gpu.component: f"NVML read failed: {self._failure(gpu, e)}"
                       for gpu, e in failures}
        )

    def _read_each(self) -> tuple[dict[str, float], list[tuple[_Gpu, Exception]]]:
        with self._lock:
            if self._closed:
                raise CounterUnavailable("the NVML reader is closed")
            failures: list[tuple[_Gpu, Exception]] = []
            for gpu in self._gpus:
                try:
                    self._update(gpu)
                except self._nvml.NVMLError as e:
                    gpu.stale = gpu.method == POLLING
                    failures.append((gpu, e))
            failed = {gpu.component for gpu, _ in failures}
            energy_j = {g.component: g.energy_j for g in self._gpus if g.component not in failed}
            return energy_j, failures

    @staticmethod
    def _failure(gpu: _Gpu, e: Exception) -> str:
        return (f"{gpu.component} ({gpu.name}, {gpu.uuid}): {_FUNCTION[gpu.method]} raised "
                f"{type(e).__name__} ({e})")

    def _update(self, gpu: _Gpu) -> None:
        if gpu.method == COUNTER:
            energy_mj = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
            # A driver reload restarts the counter from zero: all it shows is then new energy.
            restarted = energy_mj < gpu.last_energy_mj
            gpu.total_energy_mj += energy_mj if restarted else energy_mj - gpu.last_energy_mj
            gpu.last_energy_mj = energy_mj
            gpu.energy_j = gpu.total_energy_mj / 1000
        else:
            power_w = self._nvml.nvmlDeviceGetPowerUsage(gpu.handle) / 1000
            now = self._clock()
            if not gpu.stale:
                gpu.energy_j += (gpu.last_power_w + power_w) / 2 * max(0.0, now - gpu.last_t)
            gpu.last_power_w, gpu.last_t, gpu.stale = power_w, now, False

    def _gpu(self, component: str) -> _Gpu | None:
        return next((g for g in self._gpus if g.component == component), None)

    def counts_through_gap(self, component: str) -> bool:
        """The energy counter kept counting through a failed read; polled power did not."""
        gpu = self._gpu(component)
        return gpu is not None and gpu.method == COUNTER

    def fallback_power(self, component: str) -> PowerFigure | None:
        """The GPU's enforced power limit read at open (an upper bound, so an unread span is
        never undercounted); for a polled GPU whose limit is unknown, its last good power
        reading; else ``None``."""
        gpu = self._gpu(component)
        if gpu is None:
            return None
        if gpu.power_limit_w is not None:
            return PowerFigure(gpu.power_limit_w, POWER_LIMIT_BASIS)
        if gpu.method == POLLING:
            return PowerFigure(gpu.last_power_w, LAST_POWER_BASIS)
        return None

    def short_window_power(self, component: str) -> PowerFigure | None:
        """The power reading now (W) of a GPU read through its energy counter, for windows
        shorter than the counter's update period; ``None`` for a polled GPU (its integral
        already spans such a window)."""
        gpu = self._gpu(component)
        if gpu is None or gpu.method != COUNTER:
            return None
        with self._lock:
            try:
                power_w = self._nvml.nvmlDeviceGetPowerUsage(gpu.handle) / 1000
            except self._nvml.NVMLError as e:
                raise CounterUnavailable(
                    f"{component} ({gpu.name}): nvmlDeviceGetPowerUsage raised "
                    f"{type(e).__name__} ({e}) for a window shorter than the energy counter's "
                    f"update period"
                ) from e
        return PowerFigure(power_w, INSTANT_BASIS)

    def close(self) -> None:
        """Shut NVML down (its init is reference-counted); later reads raise. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception as e:  # a dying driver must not fail the run at exit
            logger.debug("NVML: nvmlShutdown failed: %s", e)

    def __enter__(self) -> NvmlReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_nvml(
    nvml: Any = None, *, poll_interval_s: float | None = None
) -> tuple[NvmlReader | None, str]:
    """An open :class:`NvmlReader` and a one-line summary of its GPUs, or ``None`` and why there
    is none (pynvml not installed, no driver, no GPU, none visible, none readable).
    ``poll_interval_s``: how often power-polled GPUs are read (the meter's ``interval_s``)."""
    try:
        reader = NvmlReader(nvml, poll_interval_s=poll_interval_s or DEFAULT_POLL_INTERVAL_S)
    except CounterUnavailable as e:
        return None, str(e)
    info = reader.components()
    if info:
        gpus = ", ".join(
            f"{c} {i.detail['device']} ({i.detail['method']})" for c, i in info.items()
        )
        skipped = "".join(f"; {c} skipped: {why}" for c, why in reader.skipped.items())
        return reader, f"{gpus}{skipped}"
    reader.close()
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if reader.device_count == 0:
        return None, "NVML finds no NVIDIA GPU"
    if reader.skipped:
        return None, "no GPU can be read: " + "; ".join(
            f"{c}: {why}" for c, why in reader.skipped.items()
        )
    return None, f"CUDA_VISIBLE_DEVICES={env!r} hides all {reader.device_count} GPU(s)"


def cuda_synchronize() -> None:
    """Wait for the kernels queued on every visible CUDA device, so that a window boundary falls
    after them. Does nothing unless the program has imported torch and initialised CUDA; never
    imports torch."""
    cuda = getattr(sys.modules.get("torch"), "cuda", None)
    if cuda is None or not cuda.is_initialized():
        return
    for device in range(cuda.device_count()):
        cuda.synchronize(device)
