"""System programs that some tests drive for real (espeak-ng, Chromium, PostgreSQL's server).

``make test`` installs them on a fresh Debian machine when it runs as root and then sets
``GREENVOC_REQUIRE_SYSTEM=1``: a missing program is then a test failure, never a silent skip.
Elsewhere (not root, another OS) the test is skipped with the command that installs it.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

#: Set by ``make test`` once it has installed the system packages.
REQUIRE_ENV = "GREENVOC_REQUIRE_SYSTEM"


def _missing(what: str, package: str) -> None:
    import pytest

    message = (f"{what} is not installed; it comes from Debian's {package!r} package "
               f"(sudo apt-get install -y {package}, or run `make test` as root, which does)")
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} [{REQUIRE_ENV}=1: a missing system program fails the test]")
    pytest.skip(message)


def require_program(name: str, package: str | None = None) -> str:
    """The path of program ``name`` on PATH, or skip/fail the calling test (see module doc)."""
    path = shutil.which(name)
    if path is None:
        _missing(f"the program {name!r}", package or name)
    return path


def postgres_bin_dir() -> Path | None:
    """The folder holding PostgreSQL's server programs (initdb, pg_ctl): on PATH, else Debian's
    ``/usr/lib/postgresql/<version>/bin`` (the newest), else None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def require_postgres() -> Path:
    """PostgreSQL's server bin folder and its Python driver, or skip/fail the calling test."""
    import pytest

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        _missing("PostgreSQL's server (initdb, pg_ctl)", "postgresql")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail("psycopg is not installed: pip install 'greenvoc[postgres]'")
        pytest.skip("psycopg is not installed: pip install 'greenvoc[postgres]'")
    return bin_dir
