"""Quantized and reduced-precision variants of any zoo vocoder (issue 7, part 1).

``get_variant("onnx-int8").apply(voc, calibration_mels, workdir)`` → :class:`VariantResult`
(the new vocoder, its size on disk, what was done). :data:`VARIANTS` lists them all in priority
order; each says with ``available()`` whether this machine can run it.
"""

# isort: off
# Registration order is the order of VARIANTS: torch variants first, then onnx.
from greenvoc.quantize import torch_variants  # noqa: F401
from greenvoc.quantize import onnx_variants  # noqa: F401
from greenvoc.quantize import onnx_int8  # noqa: F401
from greenvoc.quantize import int4  # noqa: F401
from greenvoc.quantize import pt2e  # noqa: F401
from greenvoc.quantize import mixed  # noqa: F401
from greenvoc.quantize import qat_variant  # noqa: F401

# isort: on
from greenvoc.quantize.base import VARIANTS, Variant, VariantResult, get_variant

__all__ = ["VARIANTS", "Variant", "VariantResult", "get_variant"]
