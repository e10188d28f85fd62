"""``greenvoc zoo pull``: download a public checkpoint, check its sha256, cache it atomically."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from greenvoc.errors import GreenvocError, UsageError
from greenvoc.vocoders.base import VocoderSpec
from greenvoc.vocoders.cache import checkpoint_cache_path

CHUNK_BYTES = 1 << 20


class DownloadError(GreenvocError):
    """The download failed or its content does not match the published sha256."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pull_checkpoint(
    spec: VocoderSpec,
    url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout_s: float = 60.0,
) -> tuple[Path, str]:
    """Download ``spec``'s checkpoint (or ``url``, e.g. a mirror) into the cache.

    Returns (path, sha256). An existing cached file whose hash matches is kept. A hash
    mismatch deletes the partial file and raises :class:`DownloadError`; a spec without a
    published hash is downloaded and its computed hash returned for the record.
    """
    if spec.weights.kind != "url" and url is None:
        raise UsageError(
            f"{spec.name} has no downloadable checkpoint (weights: {spec.weights.kind}); "
            "nothing to pull" + (f" — {spec.weights.notes}" if spec.weights.notes else "")
        )
    source = url or spec.weights.url
    target = checkpoint_cache_path(spec)
    expected = spec.weights.sha256
    if target.is_file() and expected and sha256_of(target) == expected:
        return target, expected
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".part{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(source, timeout=timeout_s) as response,
            open(partial, "wb") as f,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as e:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"cannot download {source} for {spec.name}: {e}") from e
    actual = digest.hexdigest()
    with open(partial, "rb") as f:
        head = f.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"{source} answered with an HTML page, not a checkpoint (Google Drive asks a "
            f"browser to confirm large files). Download it by hand and pass it with --weights "
            f"PATH, or save it as {target}"
        )
    if expected and actual != expected:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"{source}: sha256 {actual} does not match the published {expected}; the file was "
            "discarded (a changed upstream file or a corrupted download)"
        )
    os.replace(partial, target)
    return target, actual
