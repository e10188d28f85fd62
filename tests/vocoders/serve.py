"""A local stand-in for the hosts that publish checkpoints, for the downloader's tests.

One HTTP server in a thread answers the way each host does:

``/files/NAME``              the file (a direct URL, a GitHub asset after its redirect)
``/releases/download/T/NAME`` 302 to ``/files/NAME`` (a GitHub release asset)
``/truncated/NAME``          announces the file's length, sends half, closes
``/page``                    an HTML page (a wrong URL, an error page)
``/uc?id=ID``                Google Drive for a large file: an HTML "can't scan for viruses" page
                             whose ``download-form`` (with a cookie) leads to
                             ``/download?id=ID&confirm=t&uuid=…``, which sends ``files/ID``
``/ORG/REPO/resolve/REV/F``  the Hugging Face Hub: HEAD and GET with ``X-Repo-Commit`` and the
                             file's sha256 as ETag (``hub_etags[F]`` overrides it)
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

DRIVE_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>
<body><p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="/download" method="get">
<input type="submit" id="uc-download-link" value="Download anyway"/>
<input type="hidden" name="id" value="{id}"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u-1234">
</form></body></html>"""
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Host:
    root: Path
    base: str
    hub_etags: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, host: Host, **kwargs) -> None:
        self.host = host
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _send(self, body: bytes, content_type: str = "application/octet-stream",
              headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _missing(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.host.requests.append(f"{self.command} {self.path}")
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        segments = parts.path.strip("/").split("/")
        files = self.host.root
        if segments[0] == "files" and (files / segments[-1]).is_file():
            self._send((files / segments[-1]).read_bytes())
        elif segments[0] == "releases":
            self.send_response(302)
            self.send_header("Location", f"/files/{segments[-1]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif segments[0] == "truncated":
            body = (files / segments[-1]).read_bytes()
            self._send(body[: len(body) // 2], length=len(body))
            self.close_connection = True
        elif segments[0] == "page":
            self._send(b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                       b"<body>no such file</body></html>", "text/html")
        elif segments[0] == "uc":
            page = DRIVE_PAGE.format(id=query.get("id", "")).encode()
            self._send(page, "text/html; charset=utf-8",
                       {"Set-Cookie": "download_warning=abc; Path=/"})
        elif segments[0] == "download":
            ok = query.get("confirm") == "t" and "download_warning=abc" in (
                self.headers.get("Cookie") or "")
            target = files / query.get("id", "")
            if ok and target.is_file():
                self._send(target.read_bytes())
            else:
                self._send(b"<html><title>Quota exceeded</title></html>", "text/html")
        elif len(segments) >= 5 and segments[2] == "resolve":
            target = files / segments[-1]
            if not target.is_file():
                return self._missing()
            body = target.read_bytes()
            etag = self.host.hub_etags.get(segments[-1], hashlib.sha256(body).hexdigest())
            self._send(body, headers={"ETag": f'"{etag}"', "X-Repo-Commit": COMMIT})
        else:
            self._missing()


@contextmanager
def serve(root: Path) -> Iterator[Host]:
    """Serve ``root`` at a free local port for the duration of the ``with``."""
    root.mkdir(parents=True, exist_ok=True)
    host = Host(root, "")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, host=host))
    host.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
