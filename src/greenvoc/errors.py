"""One exception tree for greenvoc.

Every error a user can meet is a :class:`GreenvocError`; its message says what went wrong and
what to do (the file, the field, the fix). Vendor errors are translated at the boundary with
``raise ... from e``. ``exit_code`` is what the command line exits with.
"""

from __future__ import annotations


class GreenvocError(Exception):
    """Root of every greenvoc error. Exit code 1: the work failed."""

    exit_code = 1


class UsageError(GreenvocError):
    """A bad flag, an unknown name, a malformed configuration: exit code 2."""

    exit_code = 2


class DataFileError(GreenvocError):
    """A data file shipped with greenvoc or given by the user is malformed."""


class CounterUnavailable(GreenvocError):
    """A hardware energy counter cannot be read (missing, permission denied, driver error).

    Raised by :meth:`greenvoc.energy.source.EnergySource.read`; the meter catches it and
    falls back to the labelled estimate for the span it could not measure.
    """


class StoreError(GreenvocError):
    """The results database cannot be opened, migrated or written."""
