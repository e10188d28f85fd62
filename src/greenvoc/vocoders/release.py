"""A release as its authors publish it: a checkpoint with its config and mel statistics, loose
in a folder or packed in an archive (``tar.gz`` of ParallelWaveGAN, ``zip`` of WaveRNN).

:func:`open_release` takes what the user or the cache holds — the checkpoint file, the folder it
was unpacked into, or the archive itself — and finds the three parts. Archives are unpacked
safely (no member may land outside the target folder).
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from greenvoc.vocoders.base import CheckpointError, VocoderSpec

CONFIG_NAMES = ("config.yml", "config.yaml", "config.json")
STATS_NAMES = ("stats.h5", "stats.npy")
#: The names checkpoints have inside the releases the zoo reads: ParallelWaveGAN's ``.pkl``,
#: WaveRNN's ``.pyt``, torch's ``.pt``/``.pth``/``.bin``/``.ckpt``, HiFi-GAN-style ``g_*``.
CHECKPOINT_PATTERNS = ("*.pkl", "*.pyt", "*.pt", "*.pth", "*.pth.tar", "*.bin", "*.ckpt", "g_*")


@dataclass(frozen=True)
class Release:
    """checkpoint: the weights file; config, stats: the files of that name beside it (or at the
    release's top), None where the release has none."""

    checkpoint: Path
    config: Path | None = None
    stats: Path | None = None


def is_archive(path: Path) -> bool:
    """A tar (any compression) or a zip that is not itself a torch checkpoint (``torch.save``
    writes zip files holding ``<name>/data.pkl``)."""
    if not path.is_file():
        return False
    if tarfile.is_tarfile(path):
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return not any(n == "data.pkl" or n.endswith("/data.pkl") for n in z.namelist())
    return False


def unpack(archive: Path, into: Path) -> None:
    """Extract every regular file of ``archive`` under ``into``, keeping relative folders."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    try:
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                tar.extractall(into, members=[m for m in tar.getmembers() if m.isfile()],
                               filter="data")
            return
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                target = (into / info.filename).resolve()
                if not target.is_relative_to(root):
                    raise CheckpointError(f"{archive}: member {info.filename!r} would be "
                                          "written outside the release folder; refused")
                if not info.is_dir():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(info))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"cannot unpack {archive}: {type(e).__name__}: {e} (a truncated "
                              "download?)") from e


def _steps(path: Path) -> int:
    found = re.findall(r"(\d+)", path.stem)
    return int(found[-1]) if found else -1


def find_in(folder: Path, patterns: tuple[str, ...]) -> Release:
    """The checkpoint matching one of ``patterns`` under ``folder`` (the most trained one, by
    the step count in its name, when several match), with the config and stats nearest it."""
    candidates = sorted(
        (p for p in folder.rglob("*") if p.is_file()
         and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)),
        key=lambda p: (_steps(p), str(p)),
    )
    if not candidates:
        found = sorted(p.name for p in folder.rglob("*") if p.is_file())[:12]
        raise CheckpointError(f"{folder}: no checkpoint matching {' or '.join(patterns)} in the "
                              f"release (found {found})")
    checkpoint = candidates[-1]

    def nearest(names: tuple[str, ...]) -> Path | None:
        for where in (checkpoint.parent, folder):
            for name in names:
                if (where / name).is_file():
                    return where / name
        return None

    return Release(checkpoint, nearest(CONFIG_NAMES), nearest(STATS_NAMES))


@contextlib.contextmanager
def open_release(path: Path, patterns: tuple[str, ...]) -> Iterator[Release]:
    """The release at ``path`` (a checkpoint file, a folder, or an archive unpacked for the
    duration of the ``with``)."""
    path = Path(path)
    if path.is_dir():
        yield find_in(path, patterns)
    elif is_archive(path):
        with tempfile.TemporaryDirectory(prefix="greenvoc-release-") as tmp:
            unpack(path, Path(tmp))
            yield find_in(Path(tmp), patterns)
    elif path.is_file():
        yield Release(path, *(find_in_folder(path.parent, n) for n in (CONFIG_NAMES,
                                                                       STATS_NAMES)))
    else:
        raise CheckpointError(f"checkpoint {path} does not exist")


def checkpoint_file(path: Path) -> Path | None:
    """The checkpoint file at ``path``: the file itself, or inside an unpacked release folder
    the most trained file named like a checkpoint (:data:`CHECKPOINT_PATTERNS`); None when
    there is none."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        return None
    try:
        return find_in(path, CHECKPOINT_PATTERNS).checkpoint
    except CheckpointError:
        return None


def find_in_folder(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


def read_config(path: Path) -> dict[str, Any]:
    """A release's ``config.yml``/``config.json`` as a dict."""
    import json

    import yaml

    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise CheckpointError(f"cannot read the release config {path}: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a mapping, found {type(data).__name__}")
    return data


def read_stats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """ParallelWaveGAN's per-band mel statistics: ``stats.h5`` (datasets ``mean``, ``scale``)
    or ``stats.npy`` (rows mean, scale), as written by its ``compute_statistics``."""
    if path.suffix == ".npy":
        mean, scale = np.load(path)[:2]
        return mean.reshape(-1), scale.reshape(-1)
    try:
        import h5py
    except ImportError as e:
        raise CheckpointError(
            f"{path} needs h5py to read: pip install 'greenvoc[zoo]' (or h5py)") from e
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("mean", "scale") if k not in f]
            if missing:
                raise CheckpointError(f"{path}: no dataset {missing} (has {sorted(f)})")
            return np.asarray(f["mean"]).reshape(-1), np.asarray(f["scale"]).reshape(-1)
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e}") from e


#: Mel keys of HiFi-GAN-style configs (jik876/hifi-gan, BigVGAN, iSTFTNet) → MelConfig fields.
HIFIGAN_MEL_KEYS = {"sampling_rate": "sample_rate", "n_fft": "n_fft", "hop_size": "hop_length",
                    "win_size": "win_length_samples", "num_mels": "n_mels", "fmin": "fmin",
                    "fmax": "fmax_hz"}


def check_release_mel(spec: VocoderSpec, path: Path | str, config: Mapping[str, Any],
                      keys: Mapping[str, str] = HIFIGAN_MEL_KEYS, where: str = "front-end "
                      ) -> None:
    """Refuse a release whose config declares another mel front-end than the entry's: ``keys``
    maps the release's config keys to :class:`MelConfig` fields (``sampling_rate`` first);
    ``where`` names the section in the error (``front-end fmax``, ``hp_str audio.mel_fmax``)."""
    mel = spec.mel_config
    for key, field in keys.items():
        theirs = config.get(key)
        if key == "fmax" and theirs is None:  # these configs mean Nyquist by a missing fmax
            theirs = config.get("sampling_rate", mel.sample_rate) / 2
        ours = getattr(mel, field)
        if theirs is not None and float(theirs) != float(ours):
            mismatch(path, f"{where}{key}", theirs, ours,
                     f"it was trained on another mel than {spec.mel_preset!r}")


def tuples(value: object) -> object:
    """A config value read from JSON/YAML with its lists (nested too) as tuples, as the typed
    configs hold them."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value


def mismatch(path: Path | str, field: str, release: object, entry: object, hint: str
             ) -> NoReturn:
    """Raise the error for a release whose ``field`` differs from the entry's."""
    raise CheckpointError(
        f"{path}: the release's {field} is {release!r} but this entry's is {entry!r}; {hint}")
