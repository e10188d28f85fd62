"""Corpora: named, immutable lists of utterances, with reproducible selections.

A :class:`Corpus` remembers how it was made (the ``spec`` it was opened from) and every selection
applied to it since (``subset``, ``split``, each with its seed and the ids kept), so a result row
can store :meth:`Corpus.to_dict` and the exact same utterances can be drawn again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from greenvoc.audio.io import Audio, AudioError, load_audio
from greenvoc.errors import UsageError

#: Suffixes the folder loader collects (what libsndfile decodes).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class Utterance:
    """One recording.

    id: unique within its corpus; path: the audio file; text: the transcript when known;
    speaker: speaker id when known; duration_s: seconds, ``None`` until read
    (:meth:`Corpus.with_durations`); synthetic: made by a TTS engine, not recorded;
    source: where it comes from (dataset, package, engine and version).
    """

    id: str
    path: Path
    text: str | None = None
    speaker: str | None = None
    duration_s: float | None = None
    synthetic: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def load(self, sample_rate: int | None = None, mono: bool = True) -> Audio:
        """The decoded audio (see :func:`greenvoc.audio.io.load_audio`)."""
        return load_audio(self.path, sample_rate=sample_rate, mono=mono)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "text": self.text,
            "speaker": self.speaker,
            "duration_s": self.duration_s,
            "synthetic": self.synthetic,
            "source": self.source,
        }


def read_duration_s(path: Path) -> float:
    """Duration of an audio file in seconds, from its header (no decoding)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{path}: cannot read the audio header ({e})") from e
    return info.frames / info.samplerate


def _fingerprint(ids: Iterable[str]) -> str:
    """sha256 over the sorted ids: identifies a selection without listing it."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


@dataclass(frozen=True)
class Corpus:
    """A named, ordered, immutable collection of :class:`Utterance`.

    licence: the licence text or name of the audio; notes: provenance remarks (what was found,
    what is missing); spec: what :func:`greenvoc.audio.open_corpus` was given; selections: the
    chain of ``subset``/``split`` operations that led here, oldest first.
    """

    name: str
    utterances: tuple[Utterance, ...]
    licence: str | None = None
    notes: tuple[str, ...] = ()
    spec: str | None = None
    selections: tuple[Mapping[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "utterances", tuple(self.utterances))
        object.__setattr__(self, "notes", tuple(self.notes))
        seen: set[str] = set()
        for utt in self.utterances:
            if utt.id in seen:
                raise UsageError(f"corpus {self.name!r}: duplicate utterance id {utt.id!r}")
            seen.add(utt.id)

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, key: int | str) -> Utterance:
        """By position or by id."""
        if isinstance(key, str):
            try:
                return self._by_id[key]
            except KeyError:
                raise KeyError(f"corpus {self.name!r} has no utterance {key!r}") from None
        return self.utterances[key]

    @functools.cached_property
    def _by_id(self) -> dict[str, Utterance]:
        return {u.id: u for u in self.utterances}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(u.id for u in self.utterances)

    @property
    def total_duration_s(self) -> float | None:
        """Sum of durations in seconds; ``None`` when any is unknown."""
        durations = [u.duration_s for u in self.utterances]
        return None if any(d is None for d in durations) else float(sum(durations))

    def with_durations(self) -> Corpus:
        """A copy whose utterances all carry ``duration_s`` (read from the file headers)."""
        utts = tuple(
            u if u.duration_s is not None else replace(u, duration_s=read_duration_s(u.path))
            for u in self.utterances
        )
        return replace(self, utterances=utts)

    def subset(
        self, ids: Sequence[str] | None = None, speakers: Sequence[str] | None = None
    ) -> Corpus:
        """The utterances whose id is in ``ids`` and/or whose speaker is in ``speakers``.

        Keeps corpus order. An id that is not in the corpus is a :class:`UsageError` naming it.
        """
        if ids is None and speakers is None:
            raise UsageError("Corpus.subset needs ids=... or speakers=...")
        keep = list(self.utterances)
        if ids is not None:
            missing = sorted(set(ids) - set(self.ids))
            if missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                raise UsageError(f"corpus {self.name!r} has no utterance(s) {shown}")
            wanted = set(ids)
            keep = [u for u in keep if u.id in wanted]
        if speakers is not None:
            wanted_spk = set(speakers)
            keep = [u for u in keep if u.speaker in wanted_spk]
        record = {
            "op": "subset",
            "ids": None if ids is None else sorted(set(ids)),
            "speakers": None if speakers is None else sorted(set(speakers)),
        }
        return self._selected(keep, record)

    def split(
        self, fraction: float | None = None, n: int | None = None, seed: int = 0
    ) -> tuple[Corpus, Corpus]:
        """Draw ``n`` utterances (or ``round(fraction·len)``) at random: ``(drawn, rest)``.

        The draw depends only on the sorted ids and ``seed`` (numpy ``default_rng``), never on
        file order, so the same corpus and seed give the same split on any machine. Both parts
        keep corpus order and record the draw in their ``selections``.
        """
        if (fraction is None) == (n is None):
            raise UsageError("Corpus.split takes exactly one of fraction=... or n=...")
        if fraction is not None:
            if not 0 <= fraction <= 1:
                raise UsageError(f"split fraction must be in [0, 1], got {fraction}")
            n = round(fraction * len(self))
        assert n is not None
        if not 0 <= n <= len(self):
            raise UsageError(f"split n must be in 0..{len(self)}, got {n}")
        order = sorted(self.ids)
        drawn = {order[i] for i in np.random.default_rng(seed).permutation(len(order))[:n]}
        base = {"op": "split", "fraction": fraction, "n": n, "seed": seed}
        first = [u for u in self.utterances if u.id in drawn]
        rest = [u for u in self.utterances if u.id not in drawn]
        return (
            self._selected(first, {**base, "part": "drawn"}),
            self._selected(rest, {**base, "part": "rest"}),
        )

    def with_selection(
        self, record: Mapping[str, Any], ids: Collection[str] | None = None
    ) -> Corpus:
        """Keep the utterances whose id is in ``ids`` (all when ``None``; corpus order) and
        append ``record`` with its count and fingerprint to ``selections``: how a selection made
        outside this class (a standard split, :mod:`greenvoc.audio.splits`) is recorded.
        """
        wanted = None if ids is None else set(ids)
        keep = [u for u in self.utterances if wanted is None or u.id in wanted]
        return self._selected(keep, dict(record))

    def _selected(self, utterances: list[Utterance], record: dict[str, Any]) -> Corpus:
        record = {
            **record,
            "count": len(utterances),
            "fingerprint": _fingerprint(u.id for u in utterances),
        }
        return replace(self, utterances=tuple(utterances), selections=(*self.selections, record))

    def to_dict(self, with_utterances: bool = False) -> dict[str, Any]:
        """JSON-able description: name, spec, licence, notes, selections, counts, ids.

        ``ids`` and ``fingerprint`` identify exactly which utterances are in; the full utterance
        records are added with ``with_utterances=True``.
        """
        d: dict[str, Any] = {
            "name": self.name,
            "spec": self.spec,
            "licence": self.licence,
            "notes": list(self.notes),
            "selections": [dict(s) for s in self.selections],
            "num_utterances": len(self),
            "total_duration_s": self.total_duration_s,
            "ids": list(self.ids),
            "fingerprint": _fingerprint(self.ids),
        }
        if with_utterances:
            d["utterances"] = [u.to_dict() for u in self.utterances]
        return d
