"""Debian's Chromium driven by Playwright, for the tests of the pages greenvoc serves or writes.

Playwright downloads no browser here: it launches ``/usr/bin/chromium`` (``make test`` installs
Debian's package as root; see :mod:`greenvoc.testing.system`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from greenvoc.testing.system import require_program


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed on exit; skips or fails the
    calling test where Chromium or Playwright is missing."""
    import pytest

    chromium = require_program("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root otherwise
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        try:
            yield browser
        finally:
            browser.close()
