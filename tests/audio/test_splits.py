"""Standard splits (``FORMAT:PATH@SPLIT``) on small trees written in each release's layout."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from greenvoc.audio.corpus import Corpus, Utterance
from greenvoc.audio.formats import open_corpus
from greenvoc.audio.splits import (
    STANDARD_SPLITS,
    partition_split,
    read_split_list,
    splits_for,
)
from greenvoc.errors import DataFileError, UsageError

HIFIGAN_VAL = read_split_list("ljspeech_hifigan_val.txt").entries
KULESHOV_SPEAKERS = read_split_list("vctk_kuleshov_val_speakers.txt").entries
BIGVGAN_TEST_CLEAN = read_split_list("libritts_bigvgan_test_clean.txt").entries


def _write(path, sample_rate=22050, seconds=0.02, seed=0):
    """A short tone plus noise, different for each seed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * (100 + 7 * seed) * t) + rng.normal(0, 0.01, t.size)
    sf.write(path, x.astype(np.float32), sample_rate)
    return path


# --- the shipped lists -----------------------------------------------------------------------


def test_hifigan_val_list_is_the_published_one():
    listed = read_split_list("ljspeech_hifigan_val.txt")
    assert len(listed.entries) == 150 and len(set(listed.entries)) == 150
    assert all(re.fullmatch(r"LJ\d{3}-\d{4}", i) for i in listed.entries)
    # first and last lines of jik876/hifi-gan LJSpeech-1.1/validation.txt
    assert listed.entries[0] == "LJ050-0269" and listed.entries[-1] == "LJ050-0189"
    assert listed.source == (
        "jik876/hifi-gan LJSpeech-1.1/validation.txt @ 4769534d45265d52a904b850da5a622601885777"
    )


def test_hifigan_train_and_val_partition_ljspeech():
    train = read_split_list("ljspeech_hifigan_train.txt").entries
    assert len(train) == 12950 and all(re.fullmatch(r"LJ\d{3}-\d{4}", i) for i in train)
    assert not set(train) & set(HIFIGAN_VAL)
    assert len(set(train) | set(HIFIGAN_VAL)) == 13100  # every clip of LJSpeech-1.1


def test_other_lists_match_their_sources():
    assert KULESHOV_SPEAKERS == (
        "p347", "p351", "p360", "p361", "p362", "p363", "p364", "p374", "p376"
    )
    sizes = {"dev_clean": 115, "dev_other": 93, "test_clean": 97, "test_other": 103}
    for subset, n in sizes.items():
        ids = read_split_list(f"libritts_bigvgan_{subset}.txt").entries
        assert len(ids) == n and all(re.fullmatch(r"\d+_\d+_\d+_\d+", i) for i in ids)
    assert BIGVGAN_TEST_CLEAN[0] == "1089_134686_000001_000001"
    for split in STANDARD_SPLITS:  # every list file the registry names exists and parses
        for file in (split.ids_file, split.speakers_file):
            if file:
                assert "@" in read_split_list(file).source


# --- LJSpeech --------------------------------------------------------------------------------

EXTRA_LJ = ("LJ001-0001", "LJ001-0002")  # in hifigan-train, not in hifigan-val


@pytest.fixture(scope="module")
def ljspeech(tmp_path_factory):
    root = tmp_path_factory.mktemp("lj") / "LJSpeech-1.1"
    lines = []
    for i, uid in enumerate((*HIFIGAN_VAL, *EXTRA_LJ)):
        _write(root / "wavs" / f"{uid}.wav", seed=i)
        lines.append(f"{uid}|Text {i}, raw.|Text {i}, normalised.")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_ljspeech_hifigan_val_opens_the_150(ljspeech):
    spec = f"ljspeech:{ljspeech}@hifigan-val"
    corpus = open_corpus(spec)
    assert len(corpus) == 150 and set(corpus.ids) == set(HIFIGAN_VAL)
    assert not set(EXTRA_LJ) & set(corpus.ids)
    assert corpus["LJ050-0269"].text == "Text 0, normalised."
    assert corpus["LJ050-0269"].load().sample_rate == 22050
    d = corpus.to_dict()
    assert d["spec"] == spec and d["num_utterances"] == 150
    (record,) = d["selections"]
    assert record["op"] == "standard_split" and record["split"] == "hifigan-val"
    assert record["format"] == "ljspeech" and record["selects"] == "ids"
    assert record["source"].startswith("jik876/hifi-gan LJSpeech-1.1/validation.txt @ 4769534")
    assert record["list_file"] == "ljspeech_hifigan_val.txt"
    assert record["list_sha256"] == read_split_list("ljspeech_hifigan_val.txt").sha256
    assert record["count"] == 150 and record["fingerprint"] == d["fingerprint"]
    assert any("hifigan-val" in n for n in d["notes"])
    json.dumps(d)
    assert len(open_corpus(f"ljspeech:{ljspeech}")) == 152  # no split: the whole folder


def test_ljspeech_split_needs_only_its_own_files(ljspeech, tmp_path):
    """A folder holding only the split's wavs opens; whole-corpus loading would refuse it."""
    for uid in EXTRA_LJ:
        (ljspeech / "wavs" / f"{uid}.wav").rename(tmp_path / f"{uid}.wav")
    try:
        assert len(open_corpus(f"ljspeech:{ljspeech}@hifigan-val")) == 150
        with pytest.raises(DataFileError, match="LJ001-0001"):
            open_corpus(f"ljspeech:{ljspeech}")
    finally:
        for uid in EXTRA_LJ:
            (tmp_path / f"{uid}.wav").rename(ljspeech / "wavs" / f"{uid}.wav")


def test_ljspeech_missing_split_files_are_counted_and_named(ljspeech, tmp_path):
    gone = HIFIGAN_VAL[3:10]
    for uid in gone:
        (ljspeech / "wavs" / f"{uid}.wav").rename(tmp_path / f"{uid}.wav")
    try:
        with pytest.raises(DataFileError) as info:
            open_corpus(f"ljspeech:{ljspeech}@hifigan-val")
    finally:
        for uid in gone:
            (tmp_path / f"{uid}.wav").rename(ljspeech / "wavs" / f"{uid}.wav")
    message = str(info.value)
    assert "7 of the 150 utterances of split ljspeech@hifigan-val are missing" in message
    assert ", ".join(gone[:5]) in message and gone[5] not in message
    assert "PATH/wavs/ID.wav" in message and str(ljspeech) in message
    assert info.value.exit_code == 1


def test_ljspeech_train_split_on_a_partial_folder(ljspeech):
    with pytest.raises(DataFileError, match=r"12948 of the 12950 utterances .*hifigan-train"):
        open_corpus(f"ljspeech:{ljspeech}@hifigan-train")


# --- bad specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "valid"),
    [
        ("ljspeech", "hifigan-val, hifigan-train"),
        ("vctk", "kuleshov-val"),
        ("libritts", "dev-clean, dev-other, test-clean, test-other"),
    ],
)
def test_unknown_split_lists_the_valid_ones(tmp_path, fmt, valid):
    with pytest.raises(UsageError, match=f"unknown {fmt} split 'nope'.*{valid}") as info:
        open_corpus(f"{fmt}:{tmp_path}@nope")
    assert info.value.exit_code == 2
    with pytest.raises(UsageError, match=f"unknown {fmt} split ''"):
        open_corpus(f"{fmt}:{tmp_path}@")


def test_split_on_a_format_without_splits_or_without_format(tmp_path, ljspeech):
    with pytest.raises(UsageError, match=r"'folder' has no standard splits.*ljspeech: hifigan"):
        open_corpus(f"folder:{tmp_path}@hifigan-val")
    for spec in ("default@hifigan-val", f"{ljspeech}@hifigan-val"):
        with pytest.raises(UsageError, match="FORMAT:PATH@SPLIT") as info:
            open_corpus(spec)
        assert info.value.exit_code == 2
    with pytest.raises(UsageError, match="names no PATH"):
        open_corpus("ljspeech:@hifigan-val")


def test_partition_split_keeps_paths_that_hold_an_at(tmp_path):
    odd = tmp_path / "me@host"
    odd.mkdir()
    assert partition_split(str(odd)) == (str(odd), None)
    assert partition_split(f"{odd}@hifigan-val") == (str(odd), "hifigan-val")
    assert partition_split("/data/a@b/LJSpeech-1.1") == ("/data/a@b/LJSpeech-1.1", None)
    assert partition_split("/data/LJ@x") == ("/data/LJ", "x")


# --- VCTK ------------------------------------------------------------------------------------


def _vctk_092(root, speakers, per_speaker=2):
    for k, spk in enumerate(speakers):
        for n in range(1, per_speaker + 1):
            for mic in ("mic1", "mic2"):
                flac = root / "wav48_silence_trimmed" / spk / f"{spk}_{n:03d}_{mic}.flac"
                _write(flac, 48000, seed=k * 10 + n)
            txt = root / "txt" / spk / f"{spk}_{n:03d}.txt"
            txt.parent.mkdir(parents=True, exist_ok=True)
            txt.write_text(f"Sentence {n} of {spk}.\n")


def test_vctk_kuleshov_val_selects_the_held_out_speakers(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    _vctk_092(root, ("p225", "p345", *KULESHOV_SPEAKERS))
    corpus = open_corpus(f"vctk:{root}@kuleshov-val")
    assert len(corpus) == 18 and {u.speaker for u in corpus} == set(KULESHOV_SPEAKERS)
    assert corpus["p376_002"].path.name == "p376_002_mic1.flac"
    assert corpus["p376_002"].text == "Sentence 2 of p376."
    (record,) = corpus.to_dict()["selections"]
    assert record["split"] == "kuleshov-val" and record["selects"] == "speakers"
    assert record["speakers"] == list(KULESHOV_SPEAKERS)
    assert record["source"].startswith("kuleshov/audio-super-res data/vctk/multispeaker/")
    assert len(open_corpus(f"vctk:{root}")) == 22


def test_vctk_080_layout_and_missing_speakers(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    for k, spk in enumerate(KULESHOV_SPEAKERS):
        if spk not in ("p351", "p374"):
            _write(root / "wav48" / spk / f"{spk}_001.wav", 48000, seed=k)
    with pytest.raises(DataFileError) as info:
        open_corpus(f"vctk:{root}@kuleshov-val")
    message = str(info.value)
    assert "2 of the 9 speakers of split vctk@kuleshov-val are missing" in message
    assert "p351, p374" in message and "PATH/wav48/SPEAKER/SPEAKER_NNN.wav" in message
    _write(root / "wav48" / "p351" / "p351_001.wav", 48000)
    _write(root / "wav48" / "p374" / "p374_001.wav", 48000)
    corpus = open_corpus(f"vctk:{root}@kuleshov-val")
    assert corpus.ids == tuple(f"{s}_001" for s in KULESHOV_SPEAKERS)


# --- LibriTTS --------------------------------------------------------------------------------


def _libritts_tree(parent):
    release = parent / "LibriTTS"
    made = {}
    for subset, speaker in (("test-clean", "1089"), ("dev-clean", "84"), ("train-clean-100", "19")):
        ids = [f"{speaker}_121123_00000{n}_000000" for n in (1, 2)]
        for n, uid in enumerate(ids):
            wav = _write(release / subset / speaker / "121123" / f"{uid}.wav", 24000, seed=n)
            wav.with_suffix(".normalized.txt").write_text(f"{subset} {n}")
        made[subset] = ids
    return release, made


def test_libritts_subset_from_root_parent_or_the_subset_itself(tmp_path):
    release, made = _libritts_tree(tmp_path)
    for path in (release, tmp_path, release / "test-clean"):
        corpus = open_corpus(f"libritts:{path}@test-clean")
        assert corpus.ids == tuple(made["test-clean"])
        (record,) = corpus.to_dict()["selections"]
        assert record["split"] == "test-clean" and record["subset"] == "test-clean"
        assert record["selects"] == "subset" and "openslr.org/60" in record["source"]
    assert open_corpus(f"libritts:{tmp_path}@dev-clean").ids == tuple(made["dev-clean"])
    assert len(open_corpus(f"libritts:{release}")) == 6  # no split: every subset


def test_libritts_missing_subset_names_the_layout(tmp_path):
    release, _ = _libritts_tree(tmp_path)
    with pytest.raises(DataFileError, match=r"no test-other/ folder.*PATH/test-other/SPEAKER"):
        open_corpus(f"libritts:{release}@test-other")


def test_libritts_bigvgan_list(tmp_path):
    folder = tmp_path / "LibriTTS" / "test-clean"
    for n, uid in enumerate((*BIGVGAN_TEST_CLEAN, "1089_134686_000002_000000")):
        speaker, chapter = uid.split("_")[:2]
        _write(folder / speaker / chapter / f"{uid}.wav", 24000, seconds=0.01, seed=n)
    corpus = open_corpus(f"libritts:{tmp_path}@bigvgan-test-clean")
    assert len(corpus) == 97 and set(corpus.ids) == set(BIGVGAN_TEST_CLEAN)
    record = corpus.to_dict()["selections"][-1]
    assert record["source"].startswith("NVIDIA/BigVGAN filelists/LibriTTS/test-clean.txt @ ")
    assert record["count"] == 97
    for uid in BIGVGAN_TEST_CLEAN[-2:]:
        speaker, chapter = uid.split("_")[:2]
        (folder / speaker / chapter / f"{uid}.wav").unlink()
    with pytest.raises(DataFileError, match=r"2 of the 97 utterances .*bigvgan-test-clean"):
        open_corpus(f"libritts:{tmp_path}@bigvgan-test-clean")


# --- recording ---------------------------------------------------------------------------------


def test_with_selection_keeps_order_and_records():
    corpus = Corpus("toy", tuple(Utterance(f"u{i}", f"/x/u{i}.wav") for i in range(5)))
    kept = corpus.with_selection({"op": "standard_split", "split": "s"}, ids=["u3", "u1"])
    assert kept.ids == ("u1", "u3")
    (record,) = kept.selections
    assert record["count"] == 2 and record["fingerprint"] == kept.to_dict()["fingerprint"]
    assert len(corpus.with_selection({"op": "x"})) == 5


def test_every_split_format_is_a_corpus_format():
    from greenvoc.audio.formats import CORPUS_FORMATS

    assert {s.fmt for s in STANDARD_SPLITS} <= set(CORPUS_FORMATS)
    assert splits_for("folder") == {}


def test_bench_plan_records_the_split(ljspeech):
    from greenvoc.bench.plan import plan

    spec = f"ljspeech:{ljspeech}@hifigan-val"
    planned = plan("griffin-lim", corpus=spec, metrics="none", limit=3)
    assert planned.config.to_dict()["corpus"] == spec
    selection = planned.corpus.to_dict()["selections"][0]
    assert selection["split"] == "hifigan-val" and selection["source"].startswith("jik876/")
    assert [u.id for u in planned.items[0].utterances] == sorted(HIFIGAN_VAL)[:3]
