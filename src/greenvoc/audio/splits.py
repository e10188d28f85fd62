"""Standard splits of the public corpora: the ``@SPLIT`` of ``--corpus FORMAT:PATH@SPLIT``.

A :class:`StandardSplit` selects from the corpus at PATH in one of three ways:

- ``ids``: the utterance ids of a list shipped in ``greenvoc/data/splits/``; every one must be
  under PATH.
- ``speakers``: every utterance of the speakers of a shipped list; every speaker must have audio.
- ``subset``: an official subset folder of the release (LibriTTS ``test-clean/`` …), optionally
  narrowed by an id list.

Each shipped list starts with ``#`` lines, one of them ``# source: REPOSITORY PATH @ COMMIT``
(see ``greenvoc/data/SOURCES.md``). The opened corpus appends a ``standard_split`` record to
:attr:`Corpus.selections` (split, what it selects, source, list file and its sha256), so a result
names the standard set it was measured on.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from greenvoc.audio.corpus import Corpus
from greenvoc.audio.formats import load_libritts, load_ljspeech, load_vctk
from greenvoc.errors import DataFileError, UsageError

#: The subset folders of the LibriTTS release (openslr.org/60), also those of LibriTTS-R.
LIBRITTS_SUBSETS = (
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
)
LIBRITTS_SOURCE = "LibriTTS release (openslr.org/60): the subset folder as released"


@dataclass(frozen=True)
class StandardSplit:
    """One named split of one corpus format.

    fmt: ``ljspeech``, ``vctk`` or ``libritts``; name: what follows ``@``; description: one line
    for errors and docs; ids_file / speakers_file: a list under ``greenvoc/data/splits/``;
    subset: the release folder the split lives in (LibriTTS).
    """

    fmt: str
    name: str
    description: str
    ids_file: str | None = None
    speakers_file: str | None = None
    subset: str | None = None

    @property
    def selects(self) -> str:
        """``ids``, ``speakers`` or ``subset``."""
        if self.ids_file:
            return "ids"
        return "speakers" if self.speakers_file else "subset"


STANDARD_SPLITS: tuple[StandardSplit, ...] = (
    StandardSplit(
        "ljspeech", "hifigan-val",
        "the 150 validation utterances of HiFi-GAN (jik876/hifi-gan LJSpeech-1.1/validation.txt)",
        ids_file="ljspeech_hifigan_val.txt",
    ),
    StandardSplit(
        "ljspeech", "hifigan-train",
        "the 12,950 training utterances of HiFi-GAN (jik876/hifi-gan LJSpeech-1.1/training.txt)",
        ids_file="ljspeech_hifigan_train.txt",
    ),
    StandardSplit(
        "vctk", "kuleshov-val",
        "every utterance of the 9 speakers held out of training in the VCTK multi-speaker split "
        "of Kuleshov et al. 2017 (kuleshov/audio-super-res val-speakers.txt)",
        speakers_file="vctk_kuleshov_val_speakers.txt",
    ),
    *(
        StandardSplit("libritts", s, f"the official LibriTTS subset {s}/", subset=s)
        for s in LIBRITTS_SUBSETS
    ),
    *(
        StandardSplit(
            "libritts", f"bigvgan-{s}",
            f"every 50th utterance of {s}/ as listed by NVIDIA/BigVGAN filelists/LibriTTS/{s}.txt",
            ids_file=f"libritts_bigvgan_{s.replace('-', '_')}.txt",
            subset=s,
        )
        for s in ("dev-clean", "dev-other", "test-clean", "test-other")
    ),
)


def splits_for(fmt: str) -> dict[str, StandardSplit]:
    """The standard splits of a corpus format, by name (empty for a format without any)."""
    return {s.name: s for s in STANDARD_SPLITS if s.fmt == fmt}


def _all_split_names() -> str:
    fmts = dict.fromkeys(s.fmt for s in STANDARD_SPLITS)
    return "; ".join(f"{f}: {', '.join(splits_for(f))}" for f in fmts)


def get_split(fmt: str, name: str) -> StandardSplit:
    """The split ``fmt@name``; :class:`UsageError` listing the valid names when there is none."""
    known = splits_for(fmt)
    if not known:
        raise UsageError(
            f"corpus format {fmt!r} has no standard splits (drop the @{name}); "
            f"standard splits exist for {_all_split_names()}"
        )
    if name not in known:
        raise UsageError(
            f"unknown {fmt} split {name!r}; valid {fmt} splits: {', '.join(known)}"
        )
    return known[name]


@dataclass(frozen=True)
class SplitList:
    """A shipped list: its entries in file order, ``# source:`` line and sha256 of the file."""

    file: str
    entries: tuple[str, ...]
    source: str
    sha256: str


@functools.cache
def read_split_list(file: str) -> SplitList:
    """Read ``greenvoc/data/splits/<file>``: one entry a line, ``#`` lines are comments."""
    where = f"greenvoc/data/splits/{file}"
    try:
        text = resources.files("greenvoc.data").joinpath("splits").joinpath(file).read_text(
            encoding="utf-8"
        )
    except FileNotFoundError as e:
        raise DataFileError(f"{where} is missing from this install: reinstall greenvoc") from e
    entries: list[str] = []
    source = None
    for line in map(str.strip, text.splitlines()):
        if line.startswith("# source:"):
            source = line.removeprefix("# source:").strip()
        elif line and not line.startswith("#"):
            entries.append(line)
    if source is None or not entries or len(set(entries)) != len(entries):
        raise DataFileError(
            f"{where}: expected a '# source:' line and unique entries, one a line: "
            "reinstall greenvoc"
        )
    return SplitList(file, tuple(entries), source, hashlib.sha256(text.encode()).hexdigest())


def partition_split(rest: str) -> tuple[str, str | None]:
    """``PATH@SPLIT`` → ``(PATH, SPLIT)``; ``(rest, None)`` when ``rest`` names no split.

    The last ``@`` separates the split, unless a ``/`` follows it or ``rest`` exists as a path
    (a folder whose name holds an ``@``).
    """
    path, at, name = rest.rpartition("@")
    if not at or "/" in name or Path(rest).expanduser().exists():
        return rest, None
    return path, name


def _require_all(
    split: StandardSplit, wanted: Sequence[str], found: Collection[str], what: str,
    root: Path, layout: str,
) -> None:
    missing = [w for w in wanted if w not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        raise DataFileError(
            f"{len(missing)} of the {len(wanted)} {what} of split {split.fmt}@{split.name} are "
            f"missing under {root}: {shown}; expected layout: {layout}"
        )


def libritts_subset_dir(path: Path, subset: str) -> Path:
    """The ``subset`` folder of a LibriTTS release at ``path``.

    ``path`` may be the release root (holding ``test-clean/`` …), the folder above it (holding
    ``LibriTTS/`` or ``LibriTTS_R/``), or the subset folder itself.
    """
    candidates = [path] if path.name == subset else []
    candidates += [path / subset, path / "LibriTTS" / subset, path / "LibriTTS_R" / subset]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise DataFileError(
        f"{path}: no {subset}/ folder; expected layout: PATH/{subset}/SPEAKER/CHAPTER/ID.wav "
        f"with PATH the LibriTTS release root, or PATH/LibriTTS/{subset}/…"
    )


def _record(split: StandardSplit, listed: SplitList | None, **extra: Any) -> dict[str, Any]:
    return {
        "op": "standard_split",
        "format": split.fmt,
        "split": split.name,
        "selects": split.selects,
        "subset": split.subset,
        "source": listed.source if listed else LIBRITTS_SOURCE,
        "list_file": listed.file if listed else None,
        "list_sha256": listed.sha256 if listed else None,
        **extra,
    }


def _open_ljspeech(split: StandardSplit, root: Path) -> Corpus:
    listed = read_split_list(split.ids_file or "")
    corpus = load_ljspeech(root, ids=listed.entries)
    _require_all(
        split, listed.entries, set(corpus.ids), "utterances", root,
        "PATH/metadata.csv with ID|text|normalized lines and PATH/wavs/ID.wav (LJSpeech-1.1)",
    )
    return corpus.with_selection(_record(split, listed))


def _open_vctk(split: StandardSplit, root: Path) -> Corpus:
    listed = read_split_list(split.speakers_file or "")
    corpus = load_vctk(root, speakers=listed.entries)
    _require_all(
        split, listed.entries, {u.speaker for u in corpus}, "speakers", root,
        "PATH/wav48_silence_trimmed/SPEAKER/SPEAKER_NNN_mic1.flac (VCTK 0.92) or "
        "PATH/wav48/SPEAKER/SPEAKER_NNN.wav (0.80)",
    )
    return corpus.with_selection(_record(split, listed, speakers=list(listed.entries)))


def _open_libritts(split: StandardSplit, root: Path) -> Corpus:
    assert split.subset is not None
    folder = libritts_subset_dir(root, split.subset)
    corpus = load_libritts(folder)
    if not split.ids_file:
        return corpus.with_selection(_record(split, None))
    listed = read_split_list(split.ids_file)
    _require_all(
        split, listed.entries, set(corpus.ids), "utterances", folder,
        f"PATH/{split.subset}/SPEAKER/CHAPTER/ID.wav with ID = SPEAKER_CHAPTER_…",
    )
    return corpus.with_selection(_record(split, listed), ids=listed.entries)


_OPENERS = {"ljspeech": _open_ljspeech, "vctk": _open_vctk, "libritts": _open_libritts}


def open_split(fmt: str, root: Path, name: str) -> Corpus:
    """The corpus of format ``fmt`` at ``root``, narrowed to its standard split ``name``.

    Raises :class:`UsageError` for an unknown split or a format without splits, and
    :class:`DataFileError` naming how many files are missing, the first ids and the layout.
    """
    split = get_split(fmt, name)
    corpus = _OPENERS[fmt](split, root)
    record = corpus.selections[-1]
    note = f"standard split {fmt}@{name}: {split.description}; source {record['source']}"
    return replace(corpus, notes=(*corpus.notes, note))
