"""``greenvoc zoo pull``: download a published checkpoint, check it, unpack it, prove that it
loads, and only then record it in the cache.

Integrity: the sha256 the authors publish (``WeightsSource.sha256`` with its source), the one
the user pins (``--sha256``), or the Hub's own sha256 of a Hugging Face file. With none of them
the pull is *unverified*: the computed hash is printed so that the user can pin it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greenvoc.errors import UsageError
from greenvoc.vocoders.base import CheckpointError, VocoderSpec
from greenvoc.vocoders.cache import (
    CacheRecord,
    cache_root,
    entry_dir,
    read_record,
    write_record,
)
from greenvoc.vocoders.download import (
    Downloaded,
    DownloadError,
    Source,
    fetch,
    parse_source,
    remove_tree,
    sha256_of,
)
from greenvoc.vocoders.release import is_archive, unpack

__all__ = ["DownloadError", "PullResult", "integrity", "pull_checkpoint", "sha256_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullResult:
    """path: what the loader reads (file or unpacked release); file: the downloaded file;
    verified: "published", "pinned", "hub", or "" (unverified, hash recorded only)."""

    name: str
    url: str
    path: Path
    file: Path
    sha256: str
    verified: str
    cached: bool

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "url": self.url, "path": str(self.path),
                "file": str(self.file), "sha256": self.sha256, "verified": self.verified,
                "was_cached": self.cached}


def integrity(spec: VocoderSpec) -> str:
    """How a pull of ``spec`` is checked, in words (``zoo info``)."""
    w = spec.weights
    if w.kind != "url" or not w.url:
        return f"not downloadable (weights: {w.kind})"
    if w.sha256:
        return f"verified: sha256 {w.sha256} ({w.sha256_source or 'published'})"
    source = parse_source(w.url)
    if source.kind == "hf":
        pin = ("pinned revision" if re.fullmatch(r"[0-9a-f]{40}", source.revision or "")
               else f"revision {source.revision!r}, not pinned to a commit")
        return (f"verified against the Hub's sha256 of the file at download ({pin}); no "
                "sha256 published by the authors")
    return (f"unverified: no published sha256; `greenvoc zoo pull {spec.name}` prints the hash "
            "it computed, pin it with --sha256")


def _expected(spec: VocoderSpec, url: str | None, sha256: str | None) -> tuple[str | None, str]:
    if sha256 is not None:
        if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise UsageError(f"--sha256 must be 64 hexadecimal digits, got {sha256!r}")
        return sha256.lower(), "pinned"
    if spec.weights.sha256 and url in (None, spec.weights.url):
        return spec.weights.sha256, "published"
    return None, ""


def _check_cached(spec: VocoderSpec, url: str, expected: str | None, how: str
                  ) -> PullResult | None:
    record = read_record(spec)
    if record is None or record.url != url or not record.intact(spec):
        return None
    file, path = record.resolve(spec, "file"), record.resolve(spec, "checkpoint")
    actual = sha256_of(file)
    if actual != record.sha256 or (expected is not None and actual != expected):
        return None
    return PullResult(spec.name, url, path, file, actual, how or record.verified, cached=True)


def pull_checkpoint(
    spec: VocoderSpec,
    url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout_s: float = 60.0,
    sha256: str | None = None,
    force: bool = False,
    check_load: Callable[[VocoderSpec, Path], None] | None = None,
    hf_endpoint: str | None = None,
) -> PullResult:
    """Download ``spec``'s checkpoint (or ``url``, e.g. a mirror) into the cache.

    The file is checked against the expected sha256 (``sha256``, else the published one), the
    release's config file (``WeightsSource.config_url``) is fetched beside it, an archive is
    unpacked, and the result must load into the entry's model (``check_load``,
    default: build and load it) before ``pull.json`` records it. Any failure removes what was
    fetched and raises (:class:`DownloadError`, :class:`CheckpointError`): nothing is cached.
    A cached pull whose file still has its hash is returned without downloading.
    """
    if spec.weights.kind != "url" and url is None:
        raise UsageError(
            f"{spec.name} has no downloadable checkpoint (weights: {spec.weights.kind}); "
            "nothing to pull" + (f" — {spec.weights.notes}" if spec.weights.notes else "")
        )
    address = url or spec.weights.url or ""
    expected, how = _expected(spec, url, sha256)
    if not force:
        cached = _check_cached(spec, address, expected, how)
        if cached is not None:
            return cached
    source = parse_source(address)
    folder = entry_dir(spec)
    stage = folder.parent / f".{spec.name}.pull{os.getpid()}"
    remove_tree(stage)
    stage.mkdir(parents=True)
    config_source = release_config_source(spec, source, url)
    try:
        got = fetch(source, stage, progress, timeout_s, hf_cache_dir=cache_root() / "hf",
                    hf_endpoint=hf_endpoint)
        if source.kind == "direct" or source.kind == "drive":
            got = _rename(got, stage, spec)
        _verify(got, address, expected)
        config = None
        if config_source is not None:  # lands beside the checkpoint (same folder or snapshot)
            config = fetch(config_source, stage, None, timeout_s,
                           hf_cache_dir=cache_root() / "hf", hf_endpoint=hf_endpoint).path
        checkpoint = got.path
        if source.kind != "hf" and is_archive(got.path):
            unpack(got.path, stage / "release")
            checkpoint = stage / "release"
        (check_load or _load_once)(spec, checkpoint)
    except BaseException:
        remove_tree(stage)
        raise
    verified = how if expected else ("hub" if got.hub_sha256 else "")
    if source.kind == "hf":
        remove_tree(stage)
        folder.mkdir(parents=True, exist_ok=True)
        file = path = got.path.absolute()
    else:
        remove_tree(folder)
        os.replace(stage, folder)
        file = folder / got.path.relative_to(stage)
        path = folder / checkpoint.relative_to(stage)
    if config is not None and config.is_relative_to(stage):
        config = folder / config.relative_to(stage)
    write_record(spec, CacheRecord(address, str(file), str(path), got.sha256, verified,
                                   file.stat().st_size,
                                   str(config.absolute()) if config is not None else ""))
    return PullResult(spec.name, address, path, file, got.sha256, verified, cached=False)


def release_config_source(spec: VocoderSpec, source: Source, url: str | None
                          ) -> Source | None:
    """Where the release's config file is fetched from: the entry's ``config_url``, or for a
    mirror (``url``) the file of that name beside it. A Google Drive mirror has no siblings: its
    release must carry the config inside its archive."""
    config_url = spec.weights.config_url
    if not config_url:
        return None
    if url is None or url == spec.weights.url:
        return parse_source(config_url)
    if source.kind == "drive":
        log.warning("%s: a Google Drive mirror has no %s beside it; the loader reads the "
                    "config inside the release or keeps the entry's", spec.name, config_url)
        return None
    return source.sibling(parse_source(config_url).filename)


def _rename(got: Downloaded, stage: Path, spec: VocoderSpec) -> Downloaded:
    """Store the download under the entry's file name (Drive's is only an id)."""
    name = spec.weights.filename or got.path.name
    if name == got.path.name:
        return got
    target = stage / name
    os.replace(got.path, target)
    return Downloaded(target, got.sha256, got.source, got.hub_sha256)


def _verify(got: Downloaded, url: str, expected: str | None) -> None:
    if expected is not None and got.sha256 != expected:
        raise DownloadError(
            f"{url}: sha256 {got.sha256} does not match the expected {expected}; the file was "
            "discarded (a changed upstream file or a corrupted download)")


def _load_once(spec: VocoderSpec, path: Path) -> None:
    from greenvoc.vocoders.registry import build_model, configured_spec

    if spec.load is None:
        return
    try:
        build_model(configured_spec(spec, path), path)
    except CheckpointError as e:
        raise CheckpointError(f"{spec.name}: the downloaded checkpoint does not load, so "
                              f"nothing was cached: {e}") from e
