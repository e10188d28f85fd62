"""Where downloaded checkpoints live: ``$GREENVOC_CACHE_DIR`` or ``~/.cache/greenvoc``.

``<cache>/checkpoints/<name>/`` holds what ``greenvoc zoo pull`` fetched (an archive is unpacked
into ``release/`` beside it) and ``pull.json``, the record written last, once the checkpoint has
loaded into its model. Without that record nothing in the folder counts as weights; Hugging Face
files stay in the Hub's own cache (``<cache>/hf``) and the record points there.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenvoc.vocoders.base import VocoderSpec


def cache_root() -> Path:
    if os.environ.get("GREENVOC_CACHE_DIR"):
        return Path(os.environ["GREENVOC_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "greenvoc"


RECORD = "pull.json"


def entry_dir(spec: VocoderSpec) -> Path:
    return cache_root() / "checkpoints" / spec.name


def checkpoint_cache_path(spec: VocoderSpec) -> Path:
    """``<cache>/checkpoints/<name>/<file name of the URL>``."""
    filename = spec.weights.filename or (
        (spec.weights.url or spec.name).rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    )
    return entry_dir(spec) / filename


@dataclass(frozen=True)
class CacheRecord:
    """What a pull left. url: where it came from; file: the downloaded file; checkpoint: what
    the loader reads (the file, or the folder an archive was unpacked into); both relative to
    the entry's folder unless absolute (the Hub's cache). verified: how the sha256 was checked
    ("published", "pinned", "hub") or "" (unverified: the hash is only recorded). config: the
    release's config fetched beside the checkpoint (``WeightsSource.config_url``), or ""."""

    url: str
    file: str
    checkpoint: str
    sha256: str
    verified: str
    size_bytes: int
    config: str = ""

    def resolve(self, spec: VocoderSpec, which: str) -> Path:
        return entry_dir(spec) / getattr(self, which)  # an absolute path stays absolute

    def intact(self, spec: VocoderSpec) -> bool:
        """The pulled file is there at its recorded size, with its checkpoint and (a release
        without it would load as the entry's default architecture) its config."""
        try:
            return (self.resolve(spec, "file").stat().st_size == self.size_bytes
                    and self.resolve(spec, "checkpoint").exists()
                    and (not self.config or self.resolve(spec, "config").is_file()))
        except OSError:
            return False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def read_record(spec: VocoderSpec) -> CacheRecord | None:
    path = entry_dir(spec) / RECORD
    try:
        return CacheRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_record(spec: VocoderSpec, record: CacheRecord) -> None:
    path = entry_dir(spec) / RECORD
    tmp = path.with_name(f".{RECORD}.{os.getpid()}")
    tmp.write_text(json.dumps(record.to_dict(), indent=1))
    os.replace(tmp, path)


def cached_checkpoint(spec: VocoderSpec) -> Path | None:
    """The checkpoint a pull left and checked by loading it, or None. A file put in the folder
    by hand, a partial download or a file changed since the pull does not count."""
    record = read_record(spec)
    if record is None or not record.intact(spec):
        return None
    return record.resolve(spec, "checkpoint")
