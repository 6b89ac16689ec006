"""The root of the suite's error family, in the bottom package so every layer can raise it.

Every user-facing failure of the suite — bad data (`DataError`), a parameter outside
its declared constraint (`ParameterError`), a bad flag or run option, a damaged run
directory (the subclasses in `benchmark.errors`) — is a `BenchmarkError`, so one
``except BenchmarkError`` catches them all, in a script as in the command line (which prints
it as one ``error:`` line, exit 2). It lives here, not in ``benchmark/``, because imports run
only downward: ``datasets`` and ``methods`` cannot import ``benchmark``, yet raise these errors.
``benchmark.errors.BenchmarkError`` is this same class, so old imports keep working.

Kept free of numpy and pandas, so any module can import it cheaply.
"""
from __future__ import annotations


class BenchmarkError(Exception):
    """Base of every user-facing error of the suite; the message names the culprit (flag, file,
    field, method, parameter) and what would fix it."""


class DataError(BenchmarkError, ValueError):
    """Invalid data; the message names the dataset field, and subject/trial where known.
    (A ``ValueError`` too, as it always was.)"""


class ParameterError(BenchmarkError, ValueError):
    """A value outside its declared constraint (`core.params`); the message names
    both. (A ``ValueError`` too, as scikit-learn's parameter errors are.)"""


__all__ = ["BenchmarkError", "DataError", "ParameterError"]
