"""Reading official checkpoints that pickle whole models or config objects (NVIDIA WaveGlow's
``waveglow_256channels_universal_v5.pt``, lmnt DiffWave's ``AttrDict`` params) without running
their code: an allow-listed unpickler maps the classes it knows to inert stand-ins and refuses
everything else (a pickled ``print`` or ``os.system`` raises :class:`ForbiddenGlobal`).
"""

from __future__ import annotations

import collections
import copyreg
import functools
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.backends.thnn import _get_thnn_function_backend
from torch.nn.utils.weight_norm import WeightNorm

from greenvoc.vocoders.base import CheckpointError


class _StandIn(nn.Module):
    """Holds the submodules and parameters of an official model class that is not imported."""


class _AttrDict(dict):
    """Stands in for a pickled ``dict`` subclass such as diffwave.params.AttrDict."""


#: Official classes greenvoc reads without importing their packages.
STAND_INS: dict[tuple[str, str], type] = {
    ("glow", "WaveGlow"): type("WaveGlow", (_StandIn,), {}),
    ("glow", "WN"): type("WN", (_StandIn,), {}),
    ("glow", "Invertible1x1Conv"): type("Invertible1x1Conv", (_StandIn,), {}),
    ("diffwave.params", "AttrDict"): _AttrDict,
}


@functools.cache
def _safe_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]

    safe: dict[tuple[str, str], object] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set,
        ("builtins", "object"): object,
        ("__builtin__", "set"): set,  # protocol-2 pickles name builtins the Python 2 way
        ("__builtin__", "object"): object,
        ("copyreg", "_reconstructor"): copyreg._reconstructor,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
        # torch ≤ 1.0 modules pickled their backend; torch keeps this no-op for such files
        ("torch.nn.backends.thnn", "_get_thnn_function_backend"): _get_thnn_function_backend,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("torch.nn.utils.weight_norm", "WeightNorm"): WeightNorm,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        safe[(mod, "_reconstruct")] = multiarray._reconstruct
        safe[(mod, "scalar")] = multiarray.scalar
    for mod, cls in (("conv", nn.Conv1d), ("conv", nn.ConvTranspose1d), ("conv", nn.Conv2d),
                     ("linear", nn.Linear), ("container", nn.ModuleList),
                     ("activation", nn.ReLU)):
        safe[(f"torch.nn.modules.{mod}", cls.__name__)] = cls
    return safe


class ForbiddenGlobal(pickle.UnpicklingError):
    """A checkpoint names a global outside the allow-list."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the allow-listed globals above: tensors, torch.nn containers and layers,
    weight-norm hooks, and stand-ins for the official model classes. Anything else in the file
    (a function, an unknown class) stops the load."""

    def find_class(self, module: str, name: str) -> object:
        key = (module, name)
        if key in STAND_INS:
            return STAND_INS[key]
        if key in _safe_globals():
            return _safe_globals()[key]
        raise ForbiddenGlobal(f"{module}.{name}")


class _RestrictedPickle:
    """The ``pickle_module`` interface torch.load needs (``Unpickler``, ``load``)."""

    Unpickler = _RestrictedUnpickler

    @staticmethod
    def load(file: object, **kwargs: object) -> object:
        return _RestrictedUnpickler(file, **kwargs).load()  # type: ignore[arg-type]


def read_pickled_checkpoint(path: Path) -> object:
    """``torch.load`` of an official checkpoint that pickles model or config objects (NVIDIA's
    ``waveglow_256channels_universal_v5.pt``: a whole ``glow.WaveGlow``; lmnt's DiffWave
    ``weights.pt``: a ``diffwave.params.AttrDict``), zip or legacy format, without importing
    their packages: their classes become stand-ins and only allow-listed globals resolve, so
    nothing in the file runs. A stand-in module gives its weights with ``.state_dict()``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # source-change and deprecation notes of old files
            return torch.load(path, map_location="cpu", weights_only=False,
                              pickle_module=_RestrictedPickle)
    except FileNotFoundError as e:
        raise CheckpointError(f"checkpoint {path} does not exist") from e
    except ForbiddenGlobal as e:
        raise CheckpointError(
            f"checkpoint {path} holds {e}, which greenvoc does not load: only tensors, torch "
            "layers and the official model classes of the zoo are read from pickled files"
        ) from e
    except Exception as e:  # torch and pickle raise many types for a foreign or truncated file
        raise CheckpointError(
            f"cannot read checkpoint {path}: {type(e).__name__}: {e}. Is it a complete "
            "official checkpoint (not truncated, not an HTML page from a failed download)?"
        ) from e
