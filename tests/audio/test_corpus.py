"""Corpus loaders on small trees written in each public layout, open_corpus specs, selections."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from greenvoc.audio.corpus import Corpus, Utterance
from greenvoc.audio.formats import (
    load_libritts,
    load_ljspeech,
    load_vctk,
    open_corpus,
)
from greenvoc.errors import DataFileError, UsageError


def _write(path, seconds=0.1, sample_rate=16000, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).uniform(-0.3, 0.3, int(seconds * sample_rate))
    sf.write(path, x.astype(np.float32), sample_rate)
    return path


@pytest.fixture
def ljspeech(tmp_path):
    root = tmp_path / "LJSpeech-1.1"
    for i, secs in enumerate((0.1, 0.2, 0.15), 1):
        _write(root / "wavs" / f"LJ001-000{i}.wav", secs, 22050, seed=i)
    (root / "metadata.csv").write_text(
        'LJ001-0001|Printing, in the only sense "with which" we are|Printing, in the only sense'
        ' "with which" we are\n'
        "LJ001-0002|in being comparatively modern.|in being comparatively modern.\n"
        "LJ001-0003|For 1469 it was|For fourteen sixty-nine it was\n",
        encoding="utf-8",
    )
    return root


def test_ljspeech(ljspeech):
    corpus = load_ljspeech(ljspeech)
    assert corpus.ids == ("LJ001-0001", "LJ001-0002", "LJ001-0003")
    assert corpus["LJ001-0003"].text == "For fourteen sixty-nine it was"  # the normalised column
    assert corpus[0].text == 'Printing, in the only sense "with which" we are'
    assert {u.speaker for u in corpus} == {"LJ"} and not any(u.synthetic for u in corpus)
    assert corpus.total_duration_s is None
    timed = corpus.with_durations()
    assert timed.total_duration_s == pytest.approx(0.45, abs=1e-3)
    assert timed[1].load().sample_rate == 22050


def test_ljspeech_missing_wav_names_the_file(ljspeech):
    (ljspeech / "wavs" / "LJ001-0002.wav").unlink()
    with pytest.raises(DataFileError, match=r"metadata\.csv:2.*LJ001-0002\.wav"):
        load_ljspeech(ljspeech)


def test_vctk_092_flac_mic1(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    for spk, utt in (("p225", "001"), ("p225", "002"), ("p226", "001")):
        for mic in ("mic1", "mic2"):
            _write(root / "wav48_silence_trimmed" / spk / f"{spk}_{utt}_{mic}.flac", 0.1, 48000)
    (root / "txt" / "p225").mkdir(parents=True)
    (root / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.\n")
    corpus = load_vctk(root)
    assert corpus.ids == ("p225_001", "p225_002", "p226_001")
    assert corpus["p225_001"].text == "Please call Stella."
    assert corpus["p225_001"].path.name == "p225_001_mic1.flac"
    assert corpus["p226_001"].text is None and corpus["p226_001"].speaker == "p226"
    assert any("no txt/ transcript" in n for n in corpus.notes)
    assert load_vctk(root, mic="mic2")[0].path.name == "p225_001_mic2.flac"
    assert corpus.subset(speakers=["p226"]).ids == ("p226_001",)


def test_vctk_080_wav48(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    _write(root / "wav48" / "p225" / "p225_001.wav", 0.1, 48000)
    (root / "txt" / "p225").mkdir(parents=True)
    (root / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.")
    corpus = open_corpus(f"vctk:{root}")
    assert corpus.ids == ("p225_001",) and corpus[0].text == "Please call Stella."
    assert corpus.spec == f"vctk:{root}"


def test_libritts(tmp_path):
    root = tmp_path / "LibriTTS" / "train-clean-100"
    for uid, text in (
        ("84_121123_000007_000001", "Once upon a time."),
        ("84_121123_000008_000000", None),
    ):
        wav = _write(root / "84" / "121123" / f"{uid}.wav", 0.1, 24000)
        if text:
            wav.with_suffix(".normalized.txt").write_text(text)
        wav.with_suffix(".original.txt").write_text("ORIGINAL")
    corpus = load_libritts(tmp_path / "LibriTTS")
    assert corpus.ids == ("84_121123_000007_000001", "84_121123_000008_000000")
    assert [u.text for u in corpus] == ["Once upon a time.", "ORIGINAL"]
    assert {u.speaker for u in corpus} == {"84"}


def test_folder_recursive_with_sidecar_text(tmp_path):
    _write(tmp_path / "a.wav")
    _write(tmp_path / "sub" / "b.flac")
    _write(tmp_path / "sub" / "deeper" / "c.ogg")
    (tmp_path / "sub" / "b.txt").write_text("bee")
    (tmp_path / "notes.md").write_text("not audio")
    corpus = open_corpus(str(tmp_path))
    assert corpus.ids == ("a", "sub/b", "sub/deeper/c")
    assert corpus["sub/b"].text == "bee" and corpus["a"].text is None
    assert corpus.with_durations().total_duration_s == pytest.approx(0.3, abs=1e-3)


def test_folder_manifest_and_missing_file(tmp_path):
    _write(tmp_path / "clips" / "x.wav")
    manifest = tmp_path / "list.csv"
    manifest.write_text('id,path,text\nx,clips/x.wav,"Hello, world"\n')
    corpus = open_corpus(f"folder:{manifest}")
    assert corpus.ids == ("x",) and corpus[0].text == "Hello, world"
    manifest.write_text("id,path,text\nx,clips/x.wav,hi\ny,clips/y.wav,oops\n")
    with pytest.raises(DataFileError, match=r"list\.csv:3.*clips/y\.wav does not exist"):
        open_corpus(str(manifest))
    (tmp_path / "manifest.csv").write_text("name,file\nx,clips/x.wav\n")
    with pytest.raises(DataFileError, match="id,path"):
        open_corpus(f"folder:{tmp_path}")


@pytest.mark.parametrize(
    "spec", ["", "ljspeech:", "nosuchformat:/tmp", "/no/such/folder", "timit:/tmp"]
)
def test_bad_specs_are_usage_errors_listing_forms(spec):
    with pytest.raises(UsageError, match="ljspeech, vctk, libritts, folder") as info:
        open_corpus(spec)
    assert info.value.exit_code == 2


def test_format_prefix_on_missing_or_wrong_folder(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        open_corpus(f"ljspeech:{tmp_path / 'nope'}")
    with pytest.raises(DataFileError, match=r"metadata\.csv"):
        open_corpus(f"ljspeech:{tmp_path}")
    with pytest.raises(DataFileError, match="no audio files"):
        open_corpus(f"folder:{tmp_path}")


def _toy(n=20):
    return Corpus(
        "toy",
        tuple(Utterance(f"u{i:02d}", f"/x/u{i:02d}.wav", speaker=f"s{i % 3}") for i in range(n)),
    )


def test_split_is_seeded_reproducible_and_order_independent():
    corpus = _toy()
    drawn, rest = corpus.split(n=5, seed=7)
    again, _ = corpus.split(n=5, seed=7)
    shuffled = Corpus("toy", tuple(reversed(corpus.utterances)))
    assert drawn.ids == again.ids and len(drawn) == 5 and len(rest) == 15
    assert set(shuffled.split(n=5, seed=7)[0].ids) == set(drawn.ids)
    assert set(drawn.ids).isdisjoint(rest.ids)
    assert drawn.split(n=5, seed=8)[0].ids == drawn.ids  # all of it
    assert corpus.split(n=5, seed=8)[0].ids != drawn.ids
    assert len(corpus.split(fraction=0.25, seed=0)[0]) == 5
    record = drawn.to_dict()["selections"][-1]
    assert record["op"] == "split" and record["seed"] == 7 and record["part"] == "drawn"
    assert record["count"] == 5
    json.dumps(drawn.to_dict(with_utterances=True))
    with pytest.raises(UsageError):
        corpus.split(n=5, fraction=0.1)
    with pytest.raises(UsageError):
        corpus.split(n=21)


def test_subset_records_and_rejects_unknown_ids():
    corpus = _toy()
    sub = corpus.subset(ids=["u03", "u01"])
    assert sub.ids == ("u01", "u03")  # corpus order
    d = sub.to_dict()
    assert d["selections"] == [
        {
            "op": "subset",
            "ids": ["u01", "u03"],
            "speakers": None,
            "count": 2,
            "fingerprint": d["fingerprint"],
        }
    ]
    chained = corpus.split(n=10, seed=1)[0].subset(speakers=["s0"])
    assert [s["op"] for s in chained.selections] == ["split", "subset"]
    with pytest.raises(UsageError, match="u99"):
        corpus.subset(ids=["u99"])
    with pytest.raises(UsageError, match="duplicate"):
        Corpus("dup", (Utterance("a", "/a.wav"), Utterance("a", "/b.wav")))
