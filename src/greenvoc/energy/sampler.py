"""A background thread that reads the sources that need regular reads, and only those."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Sampler:
    """Calls ``poll()`` every ``interval_s`` seconds on a daemon thread until :meth:`stop`.

    ``poll`` must not raise; the meter's snapshot already turns counter errors into gaps.
    """

    def __init__(self, poll: Callable[[], None], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"sampler interval must be positive, got {interval_s} s")
        self.interval_s = interval_s
        self._poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="greenvoc-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._poll()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None
