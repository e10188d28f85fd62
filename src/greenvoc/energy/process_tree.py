"""CPU time and resident memory of a process tree, the inputs of the process-mode estimate."""

from __future__ import annotations

import os
import threading
import time

import psutil


class ProcessTree:
    """A process and all its descendants, living or already reaped.

    CPU seconds are monotonic: a child that exits moves its time from the live sum into its
    parent's ``children_*`` counters once reaped; a child that exits but is not yet reaped is
    briefly invisible, so the running maximum is returned.

    pid: the root (default: this process).
    include_root: count the root's own CPU time and memory (False for ``greenvoc measure``, which
        meters the command it started, not itself).
    """

    def __init__(self, pid: int | None = None, include_root: bool = True) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.include_root = include_root
        self._root = psutil.Process(self.pid)
        self._lock = threading.Lock()
        self._max_cpu_s = 0.0
        self._cached: list[psutil.Process] = []
        self._cached_at = -float("inf")

    #: Listing descendants scans every PID in /proc; memory sampling reuses the list this long.
    LIST_MAX_AGE_S = 0.5

    def _descendants(self, max_age_s: float = 0.0) -> list[psutil.Process]:
        now = time.monotonic()
        if now - self._cached_at >= max_age_s:
            try:
                self._cached = self._root.children(recursive=True)
            except psutil.Error:
                self._cached = []
            self._cached_at = now
        return list(self._cached)

    def cpu_s(self) -> float:
        """User + system CPU seconds of the tree since each process started."""
        total = 0.0
        try:
            t = self._root.cpu_times()
            total += t.children_user + t.children_system
            if self.include_root:
                total += t.user + t.system
        except psutil.Error:
            pass
        for child in self._descendants():
            try:
                t = child.cpu_times()
            except psutil.Error:
                continue  # exited between listing and reading: counted once reaped
            total += t.user + t.system + t.children_user + t.children_system
        with self._lock:
            self._max_cpu_s = max(self._max_cpu_s, total)
            return self._max_cpu_s

    def rss_bytes(self) -> int:
        """Resident set size of the living processes of the tree (bytes)."""
        procs = self._descendants(self.LIST_MAX_AGE_S)
        if self.include_root:
            procs.append(self._root)
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total
