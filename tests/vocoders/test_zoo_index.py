"""The zoo index that ``greenvoc zoo list`` reads instead of building every model: it must equal
what the registry and the real (meta-device) builds give, and never be used once stale."""

from __future__ import annotations

import shutil

import pytest

from greenvoc.vocoders import list_specs
from greenvoc.vocoders.index import SOURCE_GLOBS, ZooEntry, read_index, source_digest, zoo_entries
from greenvoc.vocoders.weights import has_usable_weights, weights_path

REGENERATE = "the zoo index is stale: regenerate it with `python -m greenvoc.vocoders.index`"


@pytest.fixture(scope="module")
def from_registry() -> list[ZooEntry]:
    return [ZooEntry.from_spec(s) for s in list_specs()]


def test_the_packaged_index_equals_the_registry_and_real_builds(from_registry):
    digest, entries = read_index()
    assert digest == source_digest(), REGENERATE
    assert entries == from_registry, REGENERATE


def test_params_are_counted_from_the_built_network(from_registry):
    by_name = {e.name: e for e in from_registry}
    # HiFi-GAN V1 has 13.92 M parameters once weight norm is removed (Kong et al. 2020, Table 1)
    assert by_name["hifigan-v1-lj"].params == pytest.approx(13.92e6, rel=0.01)
    assert by_name["griffin-lim"].params == 0


def test_weights_are_found_alike_from_an_entry_and_from_its_spec(from_registry):
    for spec, entry in zip(list_specs(), from_registry, strict=True):
        assert weights_path(entry) == weights_path(spec), spec.name
        assert has_usable_weights(entry) == has_usable_weights(spec), spec.name


def test_a_changed_source_makes_the_index_stale(tmp_path):
    import greenvoc.vocoders.index as index

    root = tmp_path / "greenvoc"
    for pattern in SOURCE_GLOBS:
        for path in index._PACKAGE.glob(pattern):
            target = root / path.relative_to(index._PACKAGE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    assert source_digest(root) == source_digest()
    family = next(root.glob("vocoders/families/hifigan.py"))
    family.write_text(family.read_text() + "\n# edited\n")
    assert source_digest(root) != source_digest()


def test_zoo_entries_fall_back_to_the_registry_when_stale(monkeypatch, from_registry):
    import greenvoc.vocoders.index as index

    monkeypatch.setattr(index, "source_digest", lambda: "0" * 64)
    entries, from_index = zoo_entries()
    assert not from_index and entries == from_registry
