"""Meter a whole command and its process tree (what ``greenvoc measure -- CMD`` does)."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from greenvoc.energy.estimate import Mode
from greenvoc.energy.measurement import Measurement
from greenvoc.energy.meter import DEFAULT_INTERVAL_S, EnergyMeter
from greenvoc.errors import GreenvocError


class CommandNotFound(GreenvocError):
    """The command to meter does not exist: exit 127, as a shell would."""

    exit_code = 127


class CommandNotExecutable(GreenvocError):
    exit_code = 126


@dataclass(frozen=True)
class CommandRun:
    argv: tuple[str, ...]
    exit_code: int
    measurement: Measurement
    notes: tuple[str, ...]


def run_metered(
    argv: Sequence[str],
    *,
    mode: Mode = "process",
    interval_s: float = DEFAULT_INTERVAL_S,
    cpu_tdp_w: float | None = None,
    meter: EnergyMeter | None = None,
) -> CommandRun:
    """Run ``argv``, metering it and every process it starts, and return its exit code.

    The estimate charges the command's process tree, not greenvoc itself. A command killed by
    signal N exits 128 + N, as in a shell. Ctrl-C reaches the command (same process group);
    greenvoc waits for it to finish and still records the window.
    """
    if not argv:
        raise GreenvocError("no command given; usage: greenvoc measure [OPTIONS] -- CMD ARGS...")
    if shutil.which(argv[0]) is None:
        raise CommandNotFound(f"command not found: {argv[0]!r} (nothing was measured or stored)")
    meter = meter or EnergyMeter(
        mode=mode, interval_s=interval_s, cpu_tdp_w=cpu_tdp_w, include_root=False
    )
    meter.start()
    meter.begin_window("command")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(list(argv))
        except PermissionError as e:
            meter.end_window("command")
            raise CommandNotExecutable(f"cannot execute {argv[0]!r}: {e}") from e
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    measurement = meter.end_window("command")
    meter.stop()
    exit_code = 128 - code if code < 0 else code
    return CommandRun(tuple(argv), exit_code, measurement, tuple(meter.notes))
