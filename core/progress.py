"""Progress bars that stay quiet when output is not a terminal (CI logs, pipes, workers)."""
from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress(iterable=None, **kwargs):
    """``tqdm`` shown only on an interactive stderr and unless ``BENCHMARK_QUIET`` is set."""
    quiet = bool(os.environ.get("BENCHMARK_QUIET")) or not sys.stderr.isatty()
    return tqdm(iterable, disable=quiet or kwargs.pop("disable", False), leave=False, **kwargs)

__all__ = ["progress"]
