"""Build a study from the audio that ``greenvoc bench`` wrote (:func:`create_study`)."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.errors import DataFileError, GreenvocError, UsageError
from greenvoc.listen import headphone as hp
from greenvoc.listen import stimuli as sx
from greenvoc.listen.records import ANCHOR_LOWPASS_3K5, REFERENCE
from greenvoc.listen.study import (
    AB_CHOICES,
    CROWD_VALUE,
    CROWD_VALUE_RULE,
    DEFAULT_PER_RATER,
    MUSHRA_MAX_CONDITIONS,
    TEST_TYPES,
    Stimulus,
    Study,
    StudyItem,
    save_study,
)
from greenvoc.store import ResultStore

DEFAULT_BENCH_AUDIO = Path("greenvoc-results/audio")


@dataclass(frozen=True)
class _Clip:
    condition: str
    model: str
    variant: str
    utterance: str
    path: Path


def _run_clips(store: ResultStore, run_id: int, audio: Path | None) -> tuple[list[_Clip], dict]:
    from sqlalchemy import select

    from greenvoc.store.schema import ResultRow, RunRow

    with store.session() as session:
        config = session.get(RunRow, run_id).config or {}
        rows = list(session.scalars(select(ResultRow).where(
            ResultRow.run_id == run_id, ResultRow.error.is_(None), ResultRow.has_weights)))
    clips = []
    for r in rows:
        rel = Path(f"run{run_id}") / r.model / r.variant / f"{r.utterance}.wav"
        candidates = [Path(r.audio_path)] if r.audio_path else []
        candidates += [(audio or DEFAULT_BENCH_AUDIO) / rel]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DataFileError(f"run {run_id}: audio of {r.model}/{r.variant}/{r.utterance} "
                                f"not found (looked at {', '.join(map(str, candidates))}); "
                                "pass --audio DIR, the --out of `greenvoc bench`")
        clips.append(_Clip(f"{r.model}/{r.variant}", r.model, r.variant, r.utterance, path))
    if not clips:
        raise GreenvocError(f"run {run_id} has no audio of a model with weights to listen to")
    return clips, config


def _select(clips: list[_Clip], models: list[str] | None) -> list[_Clip]:
    if not models:
        return clips
    names = sorted({c.condition for c in clips} | {c.model for c in clips})
    for m in models:
        if m not in names:
            close = difflib.get_close_matches(m, names, n=3)
            raise UsageError(f"--models: {m!r} is not in the run"
                             + (f" (closest: {', '.join(close)})" if close else "")
                             + f"; valid: {', '.join(names)}")
    return [c for c in clips if c.condition in models or c.model in models]


class _Writer:
    """Writes level-aligned stimuli into the study's folder under opaque ids."""

    def __init__(self, folder: Path, seed: int, rate: int, level_dbfs: float) -> None:
        self.folder, self.seed, self.rate, self.level = folder, seed, rate, level_dbfs

    def __call__(self, x: np.ndarray, role: str, condition: str, utterance: str,
                 model: str | None = None, variant: str | None = None,
                 leveled: bool = False) -> Stimulus:
        """``leveled``: ``x`` already has its level (the headphone test's calibrated tones)."""
        key = f"{self.seed}|{role}|{condition}|{utterance}"
        sid = "s" + hashlib.sha256(key.encode()).hexdigest()[:15]
        save_audio(self.folder / f"{sid}.wav", x if leveled else sx.normalize_level(x, self.level),
                   self.rate)
        return Stimulus(sid, f"{sid}.wav", condition, utterance, model, variant)


def _headphone_trials(write: _Writer, attempts: int) -> tuple[hp.HeadphoneTrial, ...]:
    """Every order of :data:`~greenvoc.listen.headphone.ORDERS` once per attempt, each attempt
    in files of its own (so that an answer learnt in one attempt names no file of the next)."""
    out = []
    for attempt in range(attempts):
        for soft, anti in hp.ORDERS:
            x = hp.trial_audio(soft, anti, write.rate, write.level)
            s = write(x, "headphone", "headphone", f"a{attempt}-s{soft}-o{anti}", leveled=True)
            out.append(hp.HeadphoneTrial(s.id, s.file, soft, anti, attempt))
    return tuple(out)


def _check_crowd_options(ab_choices: str, test_type: str, completion_url: str | None,
                         completion_code: str | None, headphone_attempts: int) -> None:
    if ab_choices not in AB_CHOICES:
        raise UsageError(f"--ab-choices must be one of {', '.join(AB_CHOICES)}, "
                         f"got {ab_choices!r}")
    if ab_choices != "forced" and test_type != "ab":
        raise UsageError(f"--ab-choices {ab_choices} applies to --type ab only")
    if completion_url is not None and not re.fullmatch(r"https?://[^\s<>\"']+",
                                                       completion_url):
        raise UsageError(f"--completion-url must be an http(s) URL, got {completion_url!r} "
                         "(Prolific: https://app.prolific.com/submissions/complete?cc=CODE)")
    if completion_code is not None and not CROWD_VALUE.fullmatch(completion_code):
        raise UsageError(f"--completion-code must be {CROWD_VALUE_RULE}, got "
                         f"{completion_code!r}")
    if headphone_attempts < 1:
        raise UsageError(f"--headphone-attempts must be at least 1, got {headphone_attempts}")


def _reference(corpus_spec: str, utterance: str, rate: int) -> np.ndarray:
    from greenvoc.audio.formats import open_corpus

    try:
        return open_corpus(corpus_spec)[utterance].load(sample_rate=rate).samples
    except KeyError as e:
        raise DataFileError(f"corpus {corpus_spec!r} of the run no longer holds utterance "
                            f"{utterance!r}: the reference cannot be made") from e


def create_study(store: ResultStore, out: str | Path, test_type: str, run: str | int = "latest",
                 models: list[str] | None = None, per_rater: int = DEFAULT_PER_RATER,
                 seed: int = 0, audio: str | Path | None = None, trap: bool = True,
                 level_dbfs: float = sx.TARGET_LEVEL_DBFS, ab_choices: str = "forced",
                 completion_url: str | None = None, completion_code: str | None = None,
                 headphone_attempts: int = hp.DEFAULT_ATTEMPTS) -> Study:
    """Build a ``test_type`` study from run ``run``'s audio; writes ``out`` (YAML) and the
    stimuli into ``<out stem>_audio/`` next to it. Returns the study (not yet in the DB).

    ab_choices: ``forced`` or ``with-tie`` (A/B only). completion_url / completion_code: the
    crowd platform's return link and code shown on the end page. headphone_attempts: tries at
    the headphone test before a rater is screened out."""
    from greenvoc.store.results import resolve_run_id

    if test_type not in TEST_TYPES:
        raise UsageError(f"--type must be one of {', '.join(TEST_TYPES)}, got {test_type!r}")
    if per_rater < 1:
        raise UsageError(f"--per-rater must be at least 1, got {per_rater}")
    _check_crowd_options(ab_choices, test_type, completion_url, completion_code,
                         headphone_attempts)
    run_id = resolve_run_id(store, run)
    clips, config = _run_clips(store, run_id, Path(audio) if audio else None)
    clips = _select(clips, models)
    conditions = sorted({c.condition for c in clips})
    utterances = sorted({c.utterance for c in clips})
    if test_type == "mushra" and len(conditions) + 2 > MUSHRA_MAX_CONDITIONS:
        raise UsageError(f"MUSHRA shows at most {MUSHRA_MAX_CONDITIONS} conditions per page "
                         f"(hidden reference and anchor included); the run has "
                         f"{len(conditions)} models: choose at most "
                         f"{MUSHRA_MAX_CONDITIONS - 2} with --models")
    if test_type == "ab" and len(conditions) < 2:
        raise UsageError("an A/B test needs at least two models; the run has "
                         f"{', '.join(conditions)}")
    import soundfile as sf

    rate = Counter(sf.info(str(c.path)).samplerate for c in clips).most_common(1)[0][0]
    out = Path(out)
    key = (f"{run_id}|{test_type}|{seed}|{conditions}|{per_rater}|{trap}|{level_dbfs}|"
           f"{ab_choices}|{headphone_attempts}")
    tag = hashlib.sha256(key.encode()).hexdigest()[:6]
    study_id = f"{test_type}-run{run_id}-{tag}"
    folder = out.parent / f"{out.stem}_audio"
    write = _Writer(folder, seed, rate, level_dbfs)
    refs = {u: _reference(config.get("corpus", "default"), u, rate) for u in utterances}
    by_key = {(c.condition, c.utterance): load_audio(c.path, sample_rate=rate).samples
              for c in clips}

    def model_stim(c: _Clip, role: str = "rate") -> Stimulus:
        return write(by_key[c.condition, c.utterance], role, c.condition, c.utterance,
                     c.model, c.variant)

    def ref_stim(u: str, role: str) -> Stimulus:
        return write(refs[u], role, REFERENCE, u)

    def anchor_stim(u: str, role: str) -> Stimulus:
        return write(sx.lowpass(refs[u], rate), role, ANCHOR_LOWPASS_3K5, u)

    items: list[StudyItem] = []
    first = utterances[0]
    if test_type == "acr":
        items += [StudyItem(s.id, "rating", c.utterance, (s,)) for c in clips
                  for s in [model_stim(c)]]
        items += [StudyItem(s.id, "gold", u, (s,), expected=5.0) for u in utterances
                  for s in [ref_stim(u, "gold")]]
        if trap:
            for u in utterances:
                lead = by_key[conditions[0], u] if (conditions[0], u) in by_key else refs[u]
                s = write(sx.trapping_clip(lead, rate), "trap", "trap", u)
                items.append(StudyItem(s.id, "trap", u, (s,), expected=sx.TRAP_EXPECTED))
        bad = sx.noisy(sx.lowpass(refs[first], rate, 2000.0), 5.0, seed)
        training = [ref_stim(first, "train"),
                    *[model_stim(c, "train") for c in clips if c.utterance == first][:1],
                    anchor_stim(first, "train"), write(bad, "train", "noisy-lp2k", first)]
        training_items = [StudyItem("t" + s.id, "training", first, (s,)) for s in training]
    elif test_type == "mushra":
        def page(u: str, role: str, kind: str) -> StudyItem:
            stims = (*[model_stim(c, role) for c in clips if c.utterance == u],
                     ref_stim(u, role), anchor_stim(u, role))
            return StudyItem(f"{role}-{u}"[:64], kind, u, stims, reference=ref_stim(u, "open"
                             + role))
        items = [page(u, "page", "rating") for u in utterances]
        training_items = [page(first, "train", "training")]
    else:
        for u in utterances:
            here = [c for c in clips if c.utterance == u]
            for a, b in itertools.combinations(here, 2):
                pair = (model_stim(a), model_stim(b))
                pid = "p" + hashlib.sha256(f"{pair[0].id}|{pair[1].id}".encode()).hexdigest()[:15]
                items.append(StudyItem(pid, "rating", u, pair))
        training_items = [StudyItem(f"train-{first}"[:64], "training", first,
                                    (ref_stim(first, "train"), anchor_stim(first, "train")))]
    beeps = int(np.random.default_rng([seed, 7]).integers(2, 6))
    check = write(sx.beeps(beeps, rate), "check", "check", "check")
    study = Study(study_id, test_type, run_id, seed, per_rater, rate, level_dbfs, folder.name,
                  tuple(items), tuple(training_items), check, beeps, ab_choices, completion_url,
                  completion_code, _headphone_trials(write, headphone_attempts),
                  headphone_attempts, path=out.resolve())
    save_study(study, out)
    return study
