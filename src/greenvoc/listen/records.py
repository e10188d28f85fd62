"""One human rating as the statistics see it, whatever the test type or storage.

The web app stores ratings in the database (:mod:`greenvoc.store.listen_tables`); the statistics
(:mod:`greenvoc.listen.stats`, :mod:`greenvoc.listen.screening`) work on plain
:class:`RatingRecord` lists so that they can be tested and reused without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TestType = Literal["acr", "mushra", "ab"]
#: ``rating``: a scored stimulus; ``gold``: a clip with a known answer (ACR: the clean reference,
#: expected 5 ± 1 per P.808); ``trap``: a trapping clip whose spoken instruction asks for a given
#: score (``expected``); ``training``: a training clip, never counted.
RecordKind = Literal["rating", "gold", "trap", "training"]

#: Condition names that are not zoo models.
REFERENCE = "reference"
ANCHOR_LOWPASS_3K5 = "anchor-lp3.5k"


@dataclass(frozen=True)
class RatingRecord:
    """study: study id. rater: rater id. test_type: acr | mushra | ab. item: the stimulus group
    (ACR: the clip id; MUSHRA: the page/utterance; A/B: the pair id). condition: what was rated:
    ``model/variant`` of the zoo, :data:`REFERENCE` or :data:`ANCHOR_LOWPASS_3K5`. model, variant:
    the zoo names (None for reference/anchor). utterance: the corpus utterance id. score: ACR
    1–5, MUSHRA 0–100, A/B 1.0 when this condition was preferred else 0.0. kind: see
    :data:`RecordKind`. expected: the known answer of gold/trap clips, else None.
    run_id: the benchmark run whose audio was rated."""

    study: str
    rater: str
    test_type: TestType
    item: str
    condition: str
    model: str | None
    variant: str | None
    utterance: str
    score: float
    kind: RecordKind = "rating"
    expected: float | None = None
    run_id: int | None = None
