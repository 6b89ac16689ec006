"""Speed benchmarks (pytest-benchmark), collected only when ``tests/perf`` is named on the command line.

    python -m pytest tests/perf --benchmark-enable --benchmark-json=runs/perf.json

The README's test command (``pytest`` over ``tests``) skips this directory: absolute times are
not tests. Everything in-process runs on one core (torch, BLAS and OpenCV limited to one thread)
and is timed in process CPU time, so a figure is "per core" and other load on a shared machine
barely moves it. Long end-to-end measurements (CLI runs, peak memory) run only with
``--perf-slow``. ``tests/perf/gate.py`` checks ratios inside one saved JSON.
"""
from __future__ import annotations

from pathlib import Path

import pytest

PERF_DIR = Path(__file__).resolve().parent


def _named(config) -> bool:
    """Whether a command-line path points into tests/perf (then, and only then, it is collected)."""
    for arg in config.args:
        path = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if path == PERF_DIR or PERF_DIR in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if PERF_DIR in Path(collection_path).resolve().parents and not _named(config):
        return True
    return None


def pytest_addoption(parser):
    parser.addoption("--perf-slow", action="store_true",
                     help="also run the long perf benchmarks (CLI runs, peak memory of full-scale LOSO)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--perf-slow", default=False):
        return
    skip = pytest.mark.skip(reason="long perf benchmark: add --perf-slow")
    for item in items:
        if "slow" in item.keywords and PERF_DIR in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def one_core():
    """One thread for torch, BLAS and OpenCV: every in-process figure is per core."""
    import cv2
    import torch
    from threadpoolctl import threadpool_limits

    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)
