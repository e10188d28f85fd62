"""Getting a released checkpoint from the host its authors chose.

Four kinds of address, told apart by :func:`parse_source`:

``direct``   any http(s) URL that answers with the file (a GitHub release asset, a file at a
             pinned commit on GitHub, lmnt.com, Dropbox with ``dl=1``); redirects are followed.
``drive``    Google Drive (``/file/d/ID/view``, ``open?id=ID``, ``uc?id=ID``). Drive answers a
             large file with an HTML page asking to confirm; the page's download form (or its
             ``confirm`` link) is followed once, with the cookies Drive set.
``hf``       ``https://huggingface.co/REPO/resolve/REVISION/FILE``: fetched through
             ``huggingface_hub`` (its cache, revisions and etags); the Hub's sha256 of the file
             (the ETag of an LFS file) is checked against the bytes received.

Whatever the host, a body that is HTML, shorter than its Content-Length, or empty raises
:class:`DownloadError` naming the URL and what came back, and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import html.parser
import http.client
import http.cookiejar
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from greenvoc.errors import GreenvocError

CHUNK_BYTES = 1 << 20
HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")
Progress = Callable[[int, "int | None"], None]


class DownloadError(GreenvocError):
    """A download failed, came back as something other than the file (an HTML page, a
    truncated body), or does not match its sha256. Nothing is cached."""


@dataclass(frozen=True)
class Source:
    """A parsed address. ``url`` is what is requested first; ``repo_id``/``revision``/``path``
    are set for the Hub, ``file_id`` for Google Drive."""

    kind: Literal["direct", "drive", "hf"]
    url: str
    repo_id: str | None = None
    revision: str | None = None
    path: str | None = None
    file_id: str | None = None

    @property
    def filename(self) -> str:
        if self.path:
            return self.path.rsplit("/", 1)[-1]
        if self.file_id:
            return self.file_id
        return urllib.parse.urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1] or "download"

    def sibling(self, name: str) -> Source:
        """The file ``name`` beside this one (same Hub repo and revision, same URL folder)."""
        if self.kind == "hf":
            folder = self.path.rsplit("/", 1)[0] + "/" if self.path and "/" in self.path else ""
            return Source("hf", hf_url(self.repo_id or "", self.revision or "main",
                                       folder + name),
                          self.repo_id, self.revision, folder + name)
        if self.kind == "drive":
            raise DownloadError(f"{self.url}: a Google Drive file has no siblings to fetch "
                                f"({name} must come inside the archive)")
        return Source("direct", urllib.parse.urljoin(self.url, name))


_DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
_DRIVE_ID = re.compile(r"/file/d/([-\w]{20,})|[?&]id=([-\w]{20,})")
_HF = re.compile(r"^https://huggingface\.co/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/"
                 r"(?P<path>[^?#]+)")


def hf_url(repo_id: str, revision: str, path: str) -> str:
    return f"https://huggingface.co/{repo_id}/resolve/{revision}/{path}"


def drive_url(file_id: str) -> str:
    return f"https://drive.google.com/uc?export=download&id={file_id}"


def parse_source(url: str) -> Source:
    """Classify ``url``; a Drive page URL becomes its direct-download URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https", "file"):
        raise DownloadError(f"{url}: not an http(s) address")
    m = _HF.match(url)
    if m:
        return Source("hf", url, m["repo"], m["rev"], urllib.parse.unquote(m["path"]))
    if parts.hostname in _DRIVE_HOSTS:
        found = _DRIVE_ID.search(url)
        if not found:
            raise DownloadError(f"{url}: a Google Drive address without a file id")
        file_id = found.group(1) or found.group(2)
        return Source("drive", drive_url(file_id), file_id=file_id)
    return Source("direct", url)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Downloaded:
    """A file fetched into ``path``; ``hub_sha256`` is the host's own hash when it publishes
    one (the Hub's LFS ETag), already checked against ``sha256``."""

    path: Path
    sha256: str
    source: Source
    hub_sha256: str | None = None


def fetch(
    source: Source,
    folder: Path,
    progress: Progress | None = None,
    timeout_s: float = 60.0,
    hf_cache_dir: Path | None = None,
    hf_endpoint: str | None = None,
) -> Downloaded:
    """Download ``source`` into ``folder`` (the Hub: into ``hf_cache_dir``) and return where it
    is with its sha256. Raises :class:`DownloadError`; a failed download leaves nothing."""
    if source.kind == "hf":
        return _fetch_hf(source, hf_cache_dir or folder / ".hf", progress, hf_endpoint)
    target = folder / source.filename
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    url = source.url
    for attempt in range(2):
        head = _stream(opener, url, target, progress, timeout_s)
        if not _looks_html(head):
            return Downloaded(target, sha256_of(target), source)
        page = target.read_bytes().decode("utf-8", "replace")
        target.unlink(missing_ok=True)
        confirmed = confirmation_url(page, url) if attempt == 0 else None
        if confirmed is None:
            raise DownloadError(
                f"{url} answered with an HTML page, not the checkpoint ({describe_html(page)}). "
                + _html_hint(source))
        url = confirmed
    raise AssertionError("unreachable")


def _stream(opener: urllib.request.OpenerDirector, url: str, target: Path,
            progress: Progress | None, timeout_s: float) -> bytes:
    """GET ``url`` into ``target``; returns the body's first bytes. A short body is an error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        with opener.open(url, timeout=timeout_s) as response, open(target, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            head = b""
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                f.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except http.client.IncompleteRead as e:
        target.unlink(missing_ok=True)
        raise DownloadError(
            f"{url} was cut short: {done + len(e.partial)} bytes came back of the "
            f"{done + len(e.partial) + (e.expected or 0)} announced; nothing was cached, try again"
        ) from e
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
        target.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {url}: {e}") from e
    if total is not None and done != total:
        target.unlink(missing_ok=True)
        raise DownloadError(f"{url} was cut short: {done} bytes came back of the {total} "
                            "announced (Content-Length); nothing was cached, try again")
    if done == 0:
        target.unlink(missing_ok=True)
        raise DownloadError(f"{url} answered with an empty body; nothing was cached")
    return head


def _looks_html(head: bytes) -> bool:
    return head.lstrip().lower().startswith(HTML_PREFIXES)


def _html_hint(source: Source) -> str:
    if source.kind == "drive":
        return ("Google Drive gave no usable confirmation (quota exceeded, or the file is not "
                "shared publicly): download it in a browser and pass it with --weights PATH")
    return "the address is a web page, not the file: check the URL or use --url with a mirror"


class _FormParser(html.parser.HTMLParser):
    """The ``download-form`` of Drive's confirmation page: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "download-form":
            self.action, self._inside = a.get("action", ""), True
        elif tag == "input" and self._inside and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def confirmation_url(page: str, page_url: str) -> str | None:
    """The address Drive's "can't scan this file for viruses" page confirms the download with:
    its ``download-form`` (action + hidden inputs), else an ``/uc?export=download…confirm=``
    link, else a ``"downloadUrl"`` in the page's script; None if the page has none."""
    form = _FormParser()
    form.feed(page)
    if form.action is not None:
        action = urllib.parse.urljoin(page_url, html.unescape(form.action))
        parts = urllib.parse.urlsplit(action)
        query = dict(urllib.parse.parse_qsl(parts.query)) | form.fields
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    m = re.search(r'href="(/uc\?export=download[^"]+)"', page)
    if m:
        return urllib.parse.urljoin(page_url, html.unescape(m.group(1)))
    m = re.search(r'"downloadUrl":"([^"]+)"', page)
    if m:
        return m.group(1).replace("\\u003d", "=").replace("\\u0026", "&")
    return None


def describe_html(page: str) -> str:
    """What came back, in a few words: the page's title or first text."""
    form = _FormParser()
    form.feed(page)
    text = form.title.strip() or re.sub(r"<[^>]+>|\s+", " ", page).strip()
    return f"{len(page.encode())} bytes of HTML: {text[:120]!r}"


def _fetch_hf(source: Source, cache_dir: Path, progress: Progress | None,
              endpoint: str | None) -> Downloaded:
    try:
        import huggingface_hub as hub
        from huggingface_hub import errors as hub_errors
    except ImportError as e:
        raise DownloadError(
            f"{source.url} is on the Hugging Face Hub, which needs huggingface_hub: "
            "pip install 'greenvoc[zoo]'") from e
    kwargs = {"revision": source.revision, "endpoint": endpoint}
    try:
        meta = hub.get_hf_file_metadata(
            hub.hf_hub_url(source.repo_id, source.path, **kwargs), endpoint=endpoint)
        local = Path(hub.hf_hub_download(source.repo_id, source.path, cache_dir=cache_dir,
                                         **kwargs))
    except (hub_errors.HfHubHTTPError, hub_errors.LocalEntryNotFoundError, OSError,
            ValueError) as e:
        raise DownloadError(f"cannot download {source.url} from the Hugging Face Hub: "
                            f"{type(e).__name__}: {e}") from e
    if progress:
        size = local.stat().st_size
        progress(size, size)
    actual = sha256_of(local)
    etag = (meta.etag or "").strip('"').removeprefix("W/").strip('"')
    hub_sha = etag if re.fullmatch(r"[0-9a-f]{64}", etag) else None
    if hub_sha is not None and hub_sha != actual:
        _drop_hf_file(local)
        raise DownloadError(f"{source.url}: sha256 {actual} differs from the Hub's {hub_sha} "
                            "(a corrupted download); the file was removed from the cache")
    with open(local, "rb") as f:
        if _looks_html(f.read(512)):
            _drop_hf_file(local)
            raise DownloadError(f"{source.url} answered with an HTML page, not the file")
    return Downloaded(local, actual, source, hub_sha)


def _drop_hf_file(local: Path) -> None:
    """Remove a snapshot file of the Hub's cache and the blob it links to."""
    blob = local.resolve()
    local.unlink(missing_ok=True)
    if blob != local:
        blob.unlink(missing_ok=True)


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
