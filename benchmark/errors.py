"""The suite's own errors: every user-facing failure is one of these (or ``DataError``).

The command line prints them as one line ``error: MESSAGE`` and exits 2; anything else is a
bug and keeps its traceback. Each message names the culprit (flag, file, field, method) and
says what would fix it, so the classes stay few: what went wrong is in the message.
"""
from __future__ import annotations

from datasets.base import DataError


class BenchmarkError(Exception):
    """Base of the suite's user-facing errors (except :class:`DataError`, a ``ValueError``)."""


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


# What ``benchmark.cli.main`` reports as ``error: ...`` (exit 2) instead of a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (BenchmarkError, DataError)
