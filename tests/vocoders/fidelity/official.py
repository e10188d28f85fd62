"""What the golden-file makers share: the official repositories' folder, putting one on
``sys.path`` (its modules forgotten afterwards), the key/shape manifest, writing a golden file,
and the shims today's libraries need to run 2018–2021 code (patched around the call, the
repositories themselves untouched)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
OFFICIAL = Path(os.environ.get("OFFICIAL", "/tmp/official"))

from tests.vocoders.official_release import GOLDEN  # noqa: E402


def manifest_of(state: dict) -> list:
    return [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in state.items()]


def save(name: str, doc: dict, output: torch.Tensor) -> None:
    out = output.detach().double().reshape(-1)
    doc["golden"] = [float(f"{v:.9g}") for v in out.tolist()]
    doc["golden_peak"] = float(out.abs().max())
    (GOLDEN / f"{name}.json").write_text(json.dumps(doc, indent=None) + "\n")
    print(name, "samples", out.numel(), "peak", doc["golden_peak"])


@contextlib.contextmanager
def on_path(repo: str, *stubs: str):
    path = str(OFFICIAL / repo)
    sys.path.insert(0, path)
    for stub in stubs:  # imports the official modules make but inference never uses
        sys.modules.setdefault(stub, types.ModuleType(stub))
    try:
        yield Path(path)
    finally:
        sys.path.remove(path)
        # forget the repository's modules: the next one may have its own utils, models, env
        for name, module in list(sys.modules.items()):
            where = getattr(module, "__file__", None) or ""
            spec_path = getattr(getattr(module, "__spec__", None), "submodule_search_locations",
                                None) or []
            if where.startswith(path) or any(str(p).startswith(path) for p in spec_path):
                del sys.modules[name]


class AttrConfig(dict):
    """ivanvovk's ConfigWrapper: attribute access to nested dicts."""

    def __getattr__(self, key):
        value = self[key]
        return AttrConfig(value) if isinstance(value, dict) else value


def librosa_mel(sr, n_fft, n_mels, fmin, fmax, *args, **kwargs):
    """librosa ≥ 0.10 takes the mel basis's arguments by keyword only (the official code passes
    them by position)."""
    import librosa

    return librosa.filters.mel(*args, sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               **kwargs)


def real_stft(*args, **kwargs):
    """torch < 2.0's ``stft`` (a real (…, 2) tensor), which today needs return_complex."""
    return torch.view_as_real(REAL_STFT(*args, return_complex=True, **kwargs))


REAL_STFT = torch.stft


def front_end(wave_spec: dict, official_mel: torch.Tensor, run: str) -> dict:
    return {"wave": wave_spec, "run": run,
            "mel": [[float(f"{v:.9g}") for v in row] for row in official_mel.double().tolist()]}


