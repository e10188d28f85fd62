"""A listening-test study: its stimuli, items, YAML file, and every rater's seeded order.

A study file (``study.yaml``) lists opaque stimulus ids (the browser never learns which model it
hears), the condition behind each, and the folder of level-aligned copies next to the file that
the server serves by id. Orders are drawn once per rater from ``(seed, order_index)``
(:func:`rater_plan`) and stored with the rater.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from greenvoc.errors import DataFileError
from greenvoc.listen.headphone import DEFAULT_ATTEMPTS, HeadphoneTrial
from greenvoc.listen.records import TestType

TEST_TYPES: tuple[TestType, ...] = ("acr", "mushra", "ab")
ITEM_KINDS = ("rating", "gold", "trap", "training")
#: BS.1534: at most 12 conditions (hidden reference and anchor included) on one page.
MUSHRA_MAX_CONDITIONS = 12
#: P.808: 10 rated clips per session (plus one gold and one trapping clip).
DEFAULT_PER_RATER = 10
SCALES: dict[str, tuple[float, float]] = {"acr": (1, 5), "mushra": (0, 100), "ab": (0, 1)}
#: A/B answers: ``forced`` (A or B) or ``with-tie`` (A, B or "no preference").
AB_CHOICES = ("forced", "with-tie")
#: A crowd platform's value (completion code, participant, study, session or assignment id):
#: Prolific's and MTurk's are letters and digits.
CROWD_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CROWD_VALUE_RULE = "1–64 letters, digits, '-' or '_'"
#: What the consent page's time estimate assumes (seconds): how often a rater plays each clip
#: and how long answering takes, per test type (``per_clip_s``: per rated stimulus, ``per_page_s``
#: per page), and the fixed steps (instructions and check).
PLAYS_PER_CLIP = {"acr": 1.0, "mushra": 2.0, "ab": 2.0}
ANSWER_S = {"acr": (0.0, 5.0), "mushra": (6.0, 5.0), "ab": (0.0, 6.0)}
FIXED_STEPS_S = 90.0


@dataclass(frozen=True)
class Stimulus:
    """One audio file of the study. id: opaque, what the browser sees; file: name inside the
    study's audio folder; condition: ``model/variant``, ``reference`` or the anchor."""

    id: str
    file: str
    condition: str
    utterance: str
    model: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class StudyItem:
    """What one page shows. ACR: one stimulus; MUSHRA: every condition of an utterance (hidden
    reference and anchor included) plus the open ``reference``; A/B: two stimuli."""

    id: str
    kind: str
    utterance: str
    stimuli: tuple[Stimulus, ...]
    reference: Stimulus | None = None
    expected: float | None = None


@dataclass(frozen=True)
class Study:
    """check / check_beeps: the tone-count clip (volume setting and audibility) and its answer.
    ab_choices: see :data:`AB_CHOICES`. completion_url / completion_code: where a crowd rater
    goes, or the code they paste, once done. headphone: the trials of the Woods et al. test
    (:mod:`greenvoc.listen.headphone`; empty: no headphone test), ``headphone_attempts`` of them
    before a rater is screened out."""

    id: str
    test_type: TestType
    run_id: int | None
    seed: int
    per_rater: int
    sample_rate: int
    level_dbfs: float
    audio_dir: str
    items: tuple[StudyItem, ...]
    training: tuple[StudyItem, ...]
    check: Stimulus
    check_beeps: int
    ab_choices: str = "forced"
    completion_url: str | None = None
    completion_code: str | None = None
    headphone: tuple[HeadphoneTrial, ...] = ()
    headphone_attempts: int = DEFAULT_ATTEMPTS
    path: Path | None = field(default=None, compare=False)

    @property
    def audio_root(self) -> Path:
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.audio_dir).resolve()

    def stimuli(self) -> dict[str, Stimulus]:
        """Every stimulus by id: items, their references, training, the check clip and the
        headphone test's trials."""
        out = {self.check.id: self.check}
        for t in self.headphone:
            out[t.id] = Stimulus(t.id, t.file, "headphone", f"headphone-{t.attempt}")
        for item in (*self.items, *self.training):
            for s in (*item.stimuli, *((item.reference,) if item.reference else ())):
                out[s.id] = s
        return out

    def item_map(self) -> dict[str, StudyItem]:
        return {i.id: i for i in (*self.items, *self.training)}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("path")
        return d


def _field(d: Any, key: str, kind: type | tuple, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise DataFileError(f"{where}: missing field {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise DataFileError(f"{where}: field {key!r} must be {kind}, got {value!r}")
    return value


def _stimulus(d: Any, where: str) -> Stimulus:
    opt = {k: d.get(k) for k in ("model", "variant")} if isinstance(d, dict) else {}
    return Stimulus(_field(d, "id", str, where), _field(d, "file", str, where),
                    _field(d, "condition", str, where), _field(d, "utterance", str, where), **opt)


def _item(d: Any, where: str) -> StudyItem:
    kind = _field(d, "kind", str, where)
    if kind not in ITEM_KINDS:
        raise DataFileError(f"{where}: field 'kind' must be one of {ITEM_KINDS}, got {kind!r}")
    stims = _field(d, "stimuli", list, where)
    if not stims:
        raise DataFileError(f"{where}: field 'stimuli' is empty")
    ref = d.get("reference")
    expected = d.get("expected")
    return StudyItem(
        _field(d, "id", str, where), kind, _field(d, "utterance", str, where),
        tuple(_stimulus(s, f"{where}.stimuli[{j}]") for j, s in enumerate(stims)),
        _stimulus(ref, f"{where}.reference") if ref is not None else None,
        float(expected) if expected is not None else None,
    )


def _headphone(d: Any, where: str) -> HeadphoneTrial:
    trial = HeadphoneTrial(_field(d, "id", str, where), _field(d, "file", str, where),
                           _field(d, "answer", int, where), _field(d, "antiphase", int, where),
                           _field(d, "attempt", int, where))
    if trial.answer not in (1, 2, 3) or trial.antiphase not in (1, 2, 3):
        raise DataFileError(f"{where}: 'answer' and 'antiphase' are tone positions 1–3")
    return trial


def _optional(d: dict, key: str, kind: type, where: str) -> Any:
    return None if d.get(key) is None else _field(d, key, kind, where)


def study_from_dict(d: Any, where: str, path: Path | None = None) -> Study:
    """Parse a study dict; :class:`DataFileError` names ``where`` and the bad field."""
    test_type = _field(d, "test_type", str, where)
    if test_type not in TEST_TYPES:
        raise DataFileError(f"{where}: field 'test_type' must be one of {TEST_TYPES}, "
                            f"got {test_type!r}")
    run_id = d.get("run_id")
    items = tuple(_item(x, f"{where}: items[{j}]")
                  for j, x in enumerate(_field(d, "items", list, where)))
    training = tuple(_item(x, f"{where}: training[{j}]")
                     for j, x in enumerate(_field(d, "training", list, where)))
    if not items:
        raise DataFileError(f"{where}: field 'items' is empty")
    # fields added after the first study files: absent means the earlier behaviour
    ab_choices = d.get("ab_choices", "forced")
    if ab_choices not in AB_CHOICES:
        raise DataFileError(f"{where}: field 'ab_choices' must be one of {AB_CHOICES}, "
                            f"got {ab_choices!r}")
    headphone = tuple(_headphone(x, f"{where}: headphone[{j}]")
                      for j, x in enumerate(d.get("headphone") or []))
    attempts = d.get("headphone_attempts", DEFAULT_ATTEMPTS)
    if not isinstance(attempts, int) or attempts < 1:
        raise DataFileError(f"{where}: field 'headphone_attempts' must be an integer ≥ 1, "
                            f"got {attempts!r}")
    return Study(
        _field(d, "id", str, where), test_type, int(run_id) if run_id is not None else None,
        _field(d, "seed", int, where), _field(d, "per_rater", int, where),
        _field(d, "sample_rate", int, where), float(_field(d, "level_dbfs", (int, float), where)),
        _field(d, "audio_dir", str, where), items, training,
        _stimulus(_field(d, "check", dict, where), f"{where}: check"),
        _field(d, "check_beeps", int, where), ab_choices,
        _optional(d, "completion_url", str, where), _optional(d, "completion_code", str, where),
        headphone, attempts, path=path,
    )


def save_study(study: Study, path: str | Path) -> Path:
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(study.to_dict(), sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path


def load_study(path: str | Path) -> Study:
    """Read a study file; every problem is a :class:`DataFileError` naming the file and field."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such study file; make one with `greenvoc listen create`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DataFileError(f"{path}: not valid YAML ({e})") from e
    study = study_from_dict(data, str(path), path.resolve())
    missing = [s.file for s in study.stimuli().values()
               if not (study.audio_root / s.file).is_file()]
    if missing:
        raise DataFileError(f"{path}: {len(missing)} stimulus file(s) missing under "
                            f"{study.audio_root} (e.g. {missing[0]}); re-run `greenvoc listen "
                            "create`")
    return study


def _rotation(pool: list[StudyItem], order_index: int, n: int) -> list[StudyItem]:
    """``n`` distinct items of ``pool`` starting at ``order_index·n``: consecutive raters take
    consecutive blocks, so every item is rated equally often (± 1) across raters."""
    if not pool:
        return []
    n = min(n, len(pool))
    start = order_index * n
    return [pool[(start + j) % len(pool)] for j in range(n)]


def rater_plan(study: Study, order_index: int) -> list[list]:
    """The ``order_index``-th rater's pages: ``[[item_id, [stimulus_id, ...]], ...]``.

    Training first (in the study's order, spanning the quality range), then the rated items:
    a rotation over the study's seeded item order (balanced across raters), shuffled per rater;
    ACR adds one gold and one trapping clip at random places; MUSHRA shuffles the conditions of
    each page and A/B swaps sides on every other pair.
    """
    base_rng = np.random.default_rng([study.seed, 0])
    rng = np.random.default_rng([study.seed, 1, order_index])

    def shuffled(items: list[StudyItem]) -> list[StudyItem]:
        return [items[j] for j in base_rng.permutation(len(items))]

    rated = shuffled([i for i in study.items if i.kind == "rating"])
    chosen = _rotation(rated, order_index, study.per_rater)
    for kind in ("gold", "trap"):
        chosen += _rotation(shuffled([i for i in study.items if i.kind == kind]), order_index, 1)
    chosen = [chosen[j] for j in rng.permutation(len(chosen))]
    pages = []
    for j, item in enumerate([*study.training, *chosen]):
        ids = [s.id for s in item.stimuli]
        if study.test_type == "mushra":
            ids = [ids[k] for k in rng.permutation(len(ids))]
        elif study.test_type == "ab" and (order_index + j) % 2:
            ids.reverse()
        pages.append([item.id, ids])
    return pages


def durations_s(study: Study) -> dict[str, float]:
    """Every stimulus's duration in seconds, from its file's header."""
    import soundfile as sf

    root = study.audio_root
    return {sid: sf.info(str(root / s.file)).duration for sid, s in study.stimuli().items()}


def session_estimate_s(study: Study, plan: list[list], durations: dict[str, float]) -> float:
    """Expected length of a session of ``plan`` (seconds): each page's clips played
    :data:`PLAYS_PER_CLIP` times (MUSHRA: with its reference), the answer times of
    :data:`ANSWER_S`, plus :data:`FIXED_STEPS_S` for instructions and the checks, plus the
    headphone test's trials (one attempt) and the check clip."""
    plays, (per_clip, per_page) = PLAYS_PER_CLIP[study.test_type], ANSWER_S[study.test_type]
    items = study.item_map()
    total = FIXED_STEPS_S + durations.get(study.check.id, 0.0)
    total += sum(durations.get(t.id, 0.0) + 3.0 for t in study.headphone if t.attempt == 0)
    for item_id, ids in plan:
        ref = items[item_id].reference
        listened = sum(durations[s] for s in ids) + (durations[ref.id] if ref else 0.0)
        total += plays * listened + per_clip * len(ids) + per_page
    return total


def create_study(*args: Any, **kwargs: Any) -> Study:
    """Build a study from a benchmark run's audio: see :func:`greenvoc.listen.build.create_study`
    (kept there: it reads the results database and writes audio, this module only describes)."""
    from greenvoc.listen.build import create_study as build

    return build(*args, **kwargs)
