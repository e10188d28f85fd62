"""A real PostgreSQL server for tests: a fresh cluster in a temporary folder, on a local socket.

Not a fake: the store's tests and the Ray executor's tests write to it as to any server. As
root it runs under Debian's ``postgres`` account (initdb refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as e:
        raise RuntimeError("running as root without a 'postgres' account: initdb refuses root; "
                           "Debian's postgresql package creates that account") from e
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server(bin_dir: Path, tcp: bool = False) -> Iterator[str]:
    """Start a throwaway server; yields its SQLAlchemy URL (database ``postgres``, user
    ``greenvoc``, trust auth). ``tcp``: listen on 127.0.0.1 too (for processes that cannot see
    the socket folder); else a Unix socket only. Stopped and deleted on exit."""
    prefix = _as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="greenvoc-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    listen = "127.0.0.1" if tcp else ""
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "greenvoc",
                    "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(root / "log"), "-o", f"-k {sock} -c listen_addresses='{listen}' "
                    f"-p {port}", "start"], check=True, capture_output=True)
    try:
        if tcp:
            yield f"postgresql+psycopg://greenvoc@127.0.0.1:{port}/postgres"
        else:
            yield f"postgresql+psycopg://greenvoc@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
