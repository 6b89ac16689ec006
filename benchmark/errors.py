"""The suite's own errors: every user-facing failure is a `BenchmarkError`.

The root of the family, `BenchmarkError`, and the two errors the lower packages raise,
`DataError` (bad data) and `ParameterError` (a value outside its declared
constraint), live in ``datasets/errors.py`` (imports only run downward, and ``datasets`` and
``methods`` raise them); they are re-exported here, so ``from benchmark.errors import
BenchmarkError`` and ``except BenchmarkError`` catch every one of them.

The command line prints them as one line ``error: MESSAGE`` and exits 2; anything else is a
bug and keeps its traceback. Each message names the culprit (flag, file, field, method) and
says what would fix it, so the classes stay few: what went wrong is in the message.
"""
from __future__ import annotations

from core.errors import BenchmarkError, DataError, ParameterError


class UsageError(BenchmarkError):
    """A flag, option or name the command cannot use; the message names the flag."""


class RunDirError(BenchmarkError):
    """A run directory that cannot be read, written or locked; the message names the path."""


class BaselineError(BenchmarkError):
    """A regression-gate baseline file that is missing or malformed; the message names it."""


class JobTimeout(Exception):
    """A job ran over ``--time-limit``: recorded with status ``timeout``, and the run goes on.
    Not a user error (the run finishes); defined here, below the worker and the tuner, which
    both raise or pass it on."""


# What ``benchmark.cli.main`` reports as ``error: ...`` (exit 2) instead of a traceback: the
# whole family (DataError and ParameterError included).
USER_ERRORS: tuple[type[Exception], ...] = (BenchmarkError,)

__all__ = ["BaselineError", "BenchmarkError", "DataError", "JobTimeout", "ParameterError",
           "RunDirError", "USER_ERRORS", "UsageError"]
