"""Corpus loaders for the public layouts, and :func:`open_corpus` for the ``--corpus`` flag.

Layouts (PATH is the folder given):
- ``ljspeech``: ``PATH/metadata.csv`` with ``id|text|normalized_text`` lines, ``PATH/wavs/ID.wav``.
- ``vctk``: ``PATH/wav48_silence_trimmed/pXXX/pXXX_YYY_mic1.flac`` (release 0.92) or
  ``PATH/wav48/pXXX/pXXX_YYY.wav`` (0.80); texts in ``PATH/txt/pXXX/pXXX_YYY.txt``.
- ``libritts``: ``PATH/…/SPEAKER/CHAPTER/ID.wav`` with ``ID.normalized.txt`` (else
  ``ID.original.txt``) beside it; PATH may be the release root or one subset.
- ``folder``: every audio file under PATH, recursively (id = relative path without suffix, text
  from a ``.txt`` file of the same stem when present), or the rows of a CSV manifest with columns
  ``id,path`` and optional ``text``, ``speaker`` (``PATH/manifest.csv``, or PATH itself a ``.csv``);
  manifest paths are relative to the manifest's folder.

``FORMAT:PATH@SPLIT`` narrows ``ljspeech``, ``vctk`` and ``libritts`` to a published standard
split (HiFi-GAN's LJSpeech validation list, the official LibriTTS subsets, …): see
:mod:`greenvoc.audio.splits`.

Durations are not read here (they cost a header read per file): call
:meth:`Corpus.with_durations` on the selection you will use.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

from greenvoc.audio.corpus import AUDIO_SUFFIXES, Corpus, Utterance
from greenvoc.errors import DataFileError, UsageError

MANIFEST_NAME = "manifest.csv"


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _require_dir(root: Path, what: str) -> Path:
    if not root.is_dir():
        raise UsageError(f"{what} corpus folder {root} does not exist or is not a folder")
    return root


def load_ljspeech(root: str | Path, ids: Collection[str] | None = None) -> Corpus:
    """LJSpeech 1.1: text is the normalised column (the raw one when that is empty).

    ids: only these utterances; an id without a metadata line or a wav is left out (the caller
    compares, as :mod:`greenvoc.audio.splits` does), where without ``ids`` a missing wav is an
    error.
    """
    root = _require_dir(Path(root), "LJSpeech")
    wanted = None if ids is None else set(ids)
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise DataFileError(f"{metadata} not found: an LJSpeech folder holds metadata.csv, wavs/")
    utts = []
    for lineno, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("|")
        if len(cols) < 2 or not cols[0]:
            raise DataFileError(f"{metadata}:{lineno}: expected 'id|text|normalized', got {line!r}")
        if wanted is not None and cols[0] not in wanted:
            continue
        text = cols[2] if len(cols) > 2 and cols[2].strip() else cols[1]
        wav = root / "wavs" / f"{cols[0]}.wav"
        if not wav.is_file():
            if wanted is not None:
                continue
            raise DataFileError(f"{metadata}:{lineno}: audio file {wav} does not exist")
        utts.append(Utterance(cols[0], wav, text.strip(), "LJ", source="ljspeech"))
    return Corpus(
        "ljspeech",
        tuple(utts),
        licence="public domain (LJSpeech-1.1 README)",
        notes=(f"read from {root}",),
    )


def load_vctk(
    root: str | Path, mic: str = "mic1", speakers: Collection[str] | None = None
) -> Corpus:
    """VCTK 0.92 (``wav48_silence_trimmed``, one ``mic``) or 0.80 (``wav48``); id ``pXXX_YYY``.

    speakers: read only these speaker folders; then no audio at all is an empty corpus, not an
    error (the caller compares, as :mod:`greenvoc.audio.splits` does).
    """
    root = _require_dir(Path(root), "VCTK")
    if (root / "wav48_silence_trimmed").is_dir():
        wav_dir, files = root / "wav48_silence_trimmed", f"*_{mic}.flac"
    elif (root / "wav48").is_dir():
        wav_dir, files = root / "wav48", "*.wav"
    else:
        raise DataFileError(f"{root}: no wav48_silence_trimmed/ or wav48/ folder: is it VCTK?")
    folders = ["*"] if speakers is None else sorted(set(speakers))
    utts = []
    for path in sorted(p for folder in folders for p in wav_dir.glob(f"{folder}/{files}")):
        speaker = path.parent.name
        uid = path.stem.removesuffix(f"_{mic}")
        text = _read_text(root / "txt" / speaker / f"{uid}.txt")
        utts.append(Utterance(uid, path, text, speaker, source="vctk"))
    if not utts and speakers is None:
        raise DataFileError(f"{wav_dir}: no {files} files in its speaker folders")
    missing = sum(u.text is None for u in utts)
    notes = [f"read from {wav_dir}"] + (
        [f"{missing} utterances have no txt/ transcript"] if missing else []
    )
    return Corpus("vctk", tuple(utts), licence="CC BY 4.0 (VCTK corpus licence)", notes=notes)


def load_libritts(root: str | Path) -> Corpus:
    """LibriTTS (or LibriTTS-R): speaker = the folder two levels above each wav."""
    root = _require_dir(Path(root), "LibriTTS")
    utts = []
    for path in sorted(root.rglob("*.wav")):
        text = _read_text(path.with_suffix(".normalized.txt"))
        if text is None:
            text = _read_text(path.with_suffix(".original.txt"))
        utts.append(Utterance(path.stem, path, text, path.parent.parent.name, source="libritts"))
    if not utts:
        raise DataFileError(f"{root}: no .wav files under it: is it a LibriTTS folder?")
    return Corpus(
        "libritts",
        tuple(utts),
        licence="CC BY 4.0 (LibriTTS, openslr.org/60)",
        notes=(f"read from {root}",),
    )


def _load_manifest(manifest: Path) -> Corpus:
    with manifest.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = set(reader.fieldnames or ())
        if not {"id", "path"} <= columns:
            raise DataFileError(
                f"{manifest}: the header must name columns id,path (optional text,speaker); "
                f"found {sorted(columns)}"
            )
        utts = []
        for row in reader:
            lineno = reader.line_num
            path = Path(row["path"])
            path = path if path.is_absolute() else manifest.parent / path
            if not path.is_file():
                raise DataFileError(f"{manifest}:{lineno}: audio file {path} does not exist")
            utts.append(
                Utterance(
                    row["id"],
                    path,
                    (row.get("text") or "").strip() or None,
                    (row.get("speaker") or "").strip() or None,
                    source="folder",
                )
            )
    if not utts:
        raise DataFileError(f"{manifest}: the manifest lists no utterances")
    return Corpus("folder", tuple(utts), notes=(f"read from manifest {manifest}",))


def load_folder(root: str | Path) -> Corpus:
    """Every audio file under ``root`` (recursive), or the manifest (see the module docstring)."""
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        return _load_manifest(root)
    root = _require_dir(root, "audio")
    if (root / MANIFEST_NAME).is_file():
        return _load_manifest(root / MANIFEST_NAME)
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not paths:
        raise DataFileError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) under it")
    utts = tuple(
        Utterance(
            p.relative_to(root).with_suffix("").as_posix(),
            p,
            _read_text(p.with_suffix(".txt")),
            source="folder",
        )
        for p in paths
    )
    return Corpus("folder", utts, notes=(f"read from {root}",))


#: FORMAT name → loader taking the folder.
CORPUS_FORMATS: dict[str, Callable[[Path], Corpus]] = {
    "ljspeech": load_ljspeech,
    "vctk": load_vctk,
    "libritts": load_libritts,
    "folder": load_folder,
}

VALID_SPECS = (
    "'default' (the built-in CMU ARCTIC clips), a folder of audio files, or FORMAT:PATH with "
    f"FORMAT one of {', '.join(CORPUS_FORMATS)}, or FORMAT:PATH@SPLIT for a standard split "
    "(ljspeech@hifigan-val, vctk@kuleshov-val, libritts@test-clean, …)"
)


def _names_corpus(spec: str) -> bool:
    """Whether ``spec`` alone is ``default`` or an existing folder (see :func:`open_corpus`)."""
    return spec == "default" or Path(spec).expanduser().is_dir()


def open_corpus(spec: str) -> Corpus:
    """Open a corpus from the ``--corpus`` convention (see :data:`VALID_SPECS`).

    Raises :class:`UsageError` (exit 2) for a malformed spec or a missing folder, and
    :class:`DataFileError` for a folder whose contents do not match its format.
    """
    spec = spec.strip() if isinstance(spec, str) else spec
    if not isinstance(spec, str) or not spec:
        raise UsageError(f"empty corpus spec; valid: {VALID_SPECS}")
    if spec == "default":
        from greenvoc.audio.default import default_corpus

        return default_corpus()
    fmt, sep, rest = spec.partition(":")
    if sep and fmt.lower() in CORPUS_FORMATS:
        from greenvoc.audio.splits import open_split, partition_split

        path, split = partition_split(rest)
        if not path:
            raise UsageError(f"corpus spec {spec!r} names no PATH; valid: {VALID_SPECS}")
        if split is None:
            corpus = CORPUS_FORMATS[fmt.lower()](Path(path).expanduser())
        else:
            corpus = open_split(fmt.lower(), Path(path).expanduser(), split)
    elif "@" in spec and _names_corpus(spec.rpartition("@")[0]):
        raise UsageError(
            f"corpus {spec!r}: a standard split is given as FORMAT:PATH@SPLIT "
            f"(e.g. ljspeech:PATH@hifigan-val); valid: {VALID_SPECS}"
        )
    elif Path(spec).expanduser().is_dir() or (
        Path(spec).suffix.lower() == ".csv" and Path(spec).expanduser().is_file()
    ):
        corpus = load_folder(Path(spec).expanduser())
    elif sep and len(fmt) > 1 and "/" not in fmt:
        raise UsageError(f"unknown corpus format {fmt!r} in {spec!r}; valid: {VALID_SPECS}")
    else:
        raise UsageError(f"corpus {spec!r} is not a folder that exists; valid: {VALID_SPECS}")
    return replace(corpus, spec=spec)
