"""A stand-in for the ``pynvml`` module (package ``nvidia-ml-py``) that tests drive.

:class:`FakeNvml` has the attribute names of the real module (``nvmlInit``,
``nvmlDeviceGetTotalEnergyConsumption``, ``NVMLError`` and its per-code subclasses,
``NVML_ERROR_*`` constants), so code under test runs the same path it runs on hardware::

    nvml = FakeNvml()
    gpu = nvml.add_device(total_energy=True, energy_mj=1_000)
    reader = NvmlReader(nvml=nvml)
    gpu.energy_mj += 2_500          # the GPU spent 2.5 J
    nvml.inject_error("nvmlDeviceGetTotalEnergyConsumption", nvml.NVML_ERROR_GPU_IS_LOST)

Every public attribute whose name starts with ``nvml``/``NVML`` exists in the real module with the
same name and parameters (a test checks this); the driving API (:meth:`FakeNvml.add_device`,
:meth:`FakeNvml.inject_error`, :attr:`FakeNvml.calls`, :class:`FakeClock`) is snake_case.
Like the real library, device calls before ``nvmlInit`` raise ``NVML_ERROR_UNINITIALIZED``.
"""

from __future__ import annotations

import string
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NVML_SUCCESS = 0
# Codes as in nvml.h / pynvml; the subclass names below follow pynvml's naming rule.
_ERROR_CODES = {
    "NVML_ERROR_UNINITIALIZED": (1, "Uninitialized"),
    "NVML_ERROR_INVALID_ARGUMENT": (2, "Invalid Argument"),
    "NVML_ERROR_NOT_SUPPORTED": (3, "Not Supported"),
    "NVML_ERROR_NO_PERMISSION": (4, "Insufficient Permissions"),
    "NVML_ERROR_ALREADY_INITIALIZED": (5, "Already Initialized"),
    "NVML_ERROR_NOT_FOUND": (6, "Not Found"),
    "NVML_ERROR_INSUFFICIENT_SIZE": (7, "Insufficient Size"),
    "NVML_ERROR_INSUFFICIENT_POWER": (8, "Insufficient External Power"),
    "NVML_ERROR_DRIVER_NOT_LOADED": (9, "Driver Not Loaded"),
    "NVML_ERROR_TIMEOUT": (10, "Timeout"),
    "NVML_ERROR_IRQ_ISSUE": (11, "Interrupt Request Issue"),
    "NVML_ERROR_LIBRARY_NOT_FOUND": (12, "NVML Shared Library Not Found"),
    "NVML_ERROR_FUNCTION_NOT_FOUND": (13, "Function Not Found"),
    "NVML_ERROR_CORRUPTED_INFOROM": (14, "Corrupted infoROM"),
    "NVML_ERROR_GPU_IS_LOST": (15, "GPU is lost"),
    "NVML_ERROR_RESET_REQUIRED": (16, "GPU requires restart"),
    "NVML_ERROR_OPERATING_SYSTEM": (17, "The operating system has blocked the request."),
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": (18, "RM has detected an NVML/RM version mismatch."),
    "NVML_ERROR_IN_USE": (19, "In Use"),
    "NVML_ERROR_MEMORY": (20, "Insufficient Memory"),
    "NVML_ERROR_NO_DATA": (21, "No Data"),
    "NVML_ERROR_UNKNOWN": (999, "Unknown Error"),
}
_MESSAGES = dict(_ERROR_CODES.values())


class NVMLError(Exception):
    """Like ``pynvml.NVMLError``: ``NVMLError(code)`` builds the subclass for that code."""

    _valClassMapping: dict[int, type[NVMLError]] = {}  # noqa: RUF012 - mirrors pynvml
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, *args: Any) -> None:
        super().__init__(self.value)

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


def _subclass_new(code: int) -> Any:
    def new(cls: type[NVMLError], *args: Any) -> NVMLError:
        return NVMLError.__new__(cls, code)

    return new


_ERROR_CLASSES: dict[str, Any] = {}
for _name, (_code, _) in _ERROR_CODES.items():
    _cls_name = "NVMLError_" + string.capwords(_name.removeprefix("NVML_ERROR_"), "_").replace(
        "_", ""
    )
    _cls = type(_cls_name, (NVMLError,), {"__new__": _subclass_new(_code)})
    NVMLError._valClassMapping[_code] = _cls
    _ERROR_CLASSES[_cls_name] = _cls
    globals()[_cls_name] = _cls


@dataclass(eq=False)
class FakeDevice:
    """One fake GPU; tests change ``energy_mj`` and ``power_mw`` between reads.

    energy_mj: the total-energy counter in millijoules, or ``None``: the GPU predates Volta and
    ``nvmlDeviceGetTotalEnergyConsumption`` raises ``NVML_ERROR_NOT_SUPPORTED``.
    power_mw: the power reading in milliwatts, or ``None``: not supported either.
    power_limit_mw: the enforced power limit in milliwatts, or ``None``: not supported.
    mig_uuids: UUIDs (``MIG-…``) of MIG instances on this GPU.
    """

    index: int
    name: str
    uuid: str
    energy_mj: int | None = 0
    power_mw: int | None = 0
    power_limit_mw: int | None = 300_000
    mig_uuids: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class FakeMigHandle:
    """The handle of a MIG instance, as returned by ``nvmlDeviceGetHandleByUUID("MIG-…")``."""

    parent: FakeDevice
    uuid: str


@dataclass
class _ErrorRule:
    function: str
    value: int
    device: int | None
    skip: int
    times: int | None


class FakeClock:
    """A controllable replacement for ``time.monotonic``: ``clock()`` returns ``clock.t`` (s)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeNvml:
    """A fake ``pynvml`` module holding a list of :class:`FakeDevice`.

    bytes_strings: return names and UUIDs as ``bytes``, as nvidia-ml-py before 11.515 did.
    """

    NVMLError = NVMLError
    NVML_SUCCESS = NVML_SUCCESS

    def __init__(self, *, bytes_strings: bool = False) -> None:
        self.devices: list[FakeDevice] = []
        #: Number of calls per NVML function name, for assertions.
        self.calls: Counter[str] = Counter()
        self.bytes_strings = bytes_strings
        self.init_count = 0
        self._rules: list[_ErrorRule] = []
        self._lock = threading.Lock()

    # -- driving API ----------------------------------------------------------------------------

    def add_device(
        self,
        *,
        total_energy: bool = True,
        name: str | None = None,
        uuid: str | None = None,
        energy_mj: int = 0,
        power_mw: int | None = 0,
        power_limit_mw: int | None = 300_000,
        mig_uuids: list[str] | None = None,
    ) -> FakeDevice:
        """Add a GPU at the next index. ``total_energy=False``: a pre-Volta GPU (power polling)."""
        index = len(self.devices)
        device = FakeDevice(
            index=index,
            name=name or ("NVIDIA A100-SXM4-80GB" if total_energy else "Tesla P100-PCIE-16GB"),
            uuid=uuid or f"GPU-{index:08x}-0000-4000-8000-{index:012x}",
            energy_mj=energy_mj if total_energy else None,
            power_mw=power_mw,
            power_limit_mw=power_limit_mw,
            mig_uuids=list(mig_uuids or []),
        )
        self.devices.append(device)
        return device

    def inject_error(
        self,
        function: str,
        value: int,
        *,
        device: int | None = None,
        at_call: int = 1,
        times: int | None = 1,
    ) -> None:
        """Make a call raise ``NVMLError(value)``.

        function: the NVML function name, e.g. ``"nvmlDeviceGetPowerUsage"`` or ``"nvmlInit"``.
        device: only calls on the device with this index (``None``: any call).
        at_call: the first failing call, counted from now among matching calls (1 = the next).
        times: how many consecutive matching calls fail (``None``: all from then on).
        """
        if not function.startswith("nvml") or not hasattr(self, function):
            raise AttributeError(f"FakeNvml has no NVML function {function!r}")
        self._rules.append(_ErrorRule(function, value, device, at_call - 1, times))

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, function: str, device: FakeDevice | None = None, *, needs_init: bool = True):
        with self._lock:
            self.calls[function] += 1
            for rule in self._rules:
                if rule.function != function or rule.times == 0:
                    continue
                if rule.device is not None and (device is None or device.index != rule.device):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times is not None:
                    rule.times -= 1
                raise NVMLError(rule.value)
            if needs_init and self.init_count == 0:
                raise NVMLError(_ERROR_CODES["NVML_ERROR_UNINITIALIZED"][0])

    def _text(self, text: str) -> str | bytes:
        return text.encode() if self.bytes_strings else text

    @staticmethod
    def _device(handle: Any) -> FakeDevice:
        if not isinstance(handle, FakeDevice):
            raise NVMLError(_ERROR_CODES["NVML_ERROR_INVALID_ARGUMENT"][0])
        return handle

    @staticmethod
    def _unsupported(value: int | None) -> int:
        if value is None:
            raise NVMLError(_ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"][0])
        return value

    # -- the pynvml API ---------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self._call("nvmlInit", needs_init=False)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")
        self.init_count -= 1

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeDevice:
        device = self.devices[index] if 0 <= index < len(self.devices) else None
        self._call("nvmlDeviceGetHandleByIndex", device)
        if device is None:
            raise NVMLError(_ERROR_CODES["NVML_ERROR_INVALID_ARGUMENT"][0])
        return device

    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> FakeDevice | FakeMigHandle:
        uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
        self._call("nvmlDeviceGetHandleByUUID")
        for device in self.devices:
            if device.uuid == uuid:
                return device
            if uuid in device.mig_uuids:
                return FakeMigHandle(device, uuid)
        raise NVMLError(_ERROR_CODES["NVML_ERROR_NOT_FOUND"][0])

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, migDevice: Any) -> FakeDevice:
        self._call("nvmlDeviceGetDeviceHandleFromMigDeviceHandle")
        if not isinstance(migDevice, FakeMigHandle):
            raise NVMLError(_ERROR_CODES["NVML_ERROR_INVALID_ARGUMENT"][0])
        return migDevice.parent

    def nvmlDeviceGetIndex(self, handle: Any) -> int:
        device = self._device(handle)
        self._call("nvmlDeviceGetIndex", device)
        return device.index

    def nvmlDeviceGetName(self, handle: Any) -> str | bytes:
        device = self._device(handle)
        self._call("nvmlDeviceGetName", device)
        return self._text(device.name)

    def nvmlDeviceGetUUID(self, handle: Any) -> str | bytes:
        device = self._device(handle)
        self._call("nvmlDeviceGetUUID", device)
        return self._text(device.uuid)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        """Millijoules since the driver was loaded."""
        device = self._device(handle)
        self._call("nvmlDeviceGetTotalEnergyConsumption", device)
        return self._unsupported(device.energy_mj)

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        """Milliwatts."""
        device = self._device(handle)
        self._call("nvmlDeviceGetPowerUsage", device)
        return self._unsupported(device.power_mw)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        """Milliwatts."""
        device = self._device(handle)
        self._call("nvmlDeviceGetEnforcedPowerLimit", device)
        return self._unsupported(device.power_limit_mw)


for _name, (_code, _) in _ERROR_CODES.items():
    setattr(FakeNvml, _name, _code)
    globals()[_name] = _code
for _cls_name, _cls in _ERROR_CLASSES.items():
    setattr(FakeNvml, _cls_name, _cls)

__all__ = ["FakeClock", "FakeDevice", "FakeMigHandle", "FakeNvml", "NVMLError"]
