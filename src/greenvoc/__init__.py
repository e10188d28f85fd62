"""greenvoc: the energy cost of deep generative audio models next to their quality.

>>> from greenvoc import EnergyMeter
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["EnergyMeter", "Measurement", "__version__"]


def __getattr__(name: str):
    # Lazy, so that `import greenvoc` stays cheap for the CLI's --help.
    if name in ("EnergyMeter", "Measurement"):
        from greenvoc import energy

        return getattr(energy, name)
    raise AttributeError(f"module 'greenvoc' has no attribute {name!r}")
