"""Numbers for people: 13.9 M params, 55.8 MB, 26.4 GMAC/s, never 1.39e+07.

Decimal SI prefixes (1 MB = 10⁶ B, as disk sizes are sold and papers report them).
"""

from __future__ import annotations

import math

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _number(x: float, digits: int = 3) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def si(value: float | None, unit: str = "", digits: int = 3) -> str:
    """``13900000`` → ``13.9 M`` + unit, with a space only before a unit-less prefix; ``—``
    for a missing or non-finite value. Values below 1000 keep 3 significant digits."""
    if value is None or isinstance(value, bool):
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "—"
    for scale, prefix in _PREFIXES:
        if abs(x) >= scale:
            return f"{_number(x / scale, digits)} {prefix}{unit}".rstrip()
    if 0 < abs(x) < 10 ** -(digits + 1):
        return f"{x:.{digits - 1}e} {unit}".rstrip()
    return f"{_number(x, digits)} {unit}".rstrip()


def params(n: float | None) -> str:
    """``13.9 M``."""
    return si(n)


def size_bytes(n: float | None) -> str:
    """``55.8 MB``."""
    return si(n, "B")


def rate(value: float | None, unit: str) -> str:
    """``26.4 GMAC/s`` for ``rate(2.64e10, "MAC/s")``; ``1.36 J/s``."""
    return si(value, unit)


def cell(value: float | None, unit: str) -> str:
    """A cost value in its objective's unit, prefixed where the unit allows it (counts, bytes,
    MAC/s); ratios and J/s stay plain numbers."""
    if unit in ("parameters",):
        return params(value)
    if unit in ("B", "MAC/s"):
        return si(value, unit)
    return si(value) if value is not None and abs(float(value)) >= 1e3 else _plain(value)


def _plain(value: float | None) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return _number(float(value))
