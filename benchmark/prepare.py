"""``python -m benchmark prepare``: extract and cache a real dataset's features once.

Runs the dataset's loader, which extracts every subject's features in parallel (joblib,
``n_jobs``) behind a progress bar and stores them in the per-subject feature cache
(:mod:`datasets.cache`); later ``run`` commands with the same data and options read the cache.
"""
from __future__ import annotations

import os

from joblib import parallel_config

from datasets import load_dataset
from datasets.base import DataError, FeatureSet

from .lifetime import watch_parent


def open_dataset(name: str, **options) -> FeatureSet:
    """``load_dataset`` with a loader's missing-file ``OSError`` (e.g. ldl's FileNotFoundError,
    whose message lists what was looked for) reported as the DataError it is."""
    try:
        return load_dataset(name, **options)
    except OSError as exc:
        raise DataError(f"dataset {name!r}: {exc}") from exc


def prepare(dataset: str, data_root: str | None = None, n_jobs: int = 1, **options) -> FeatureSet:
    """Load ``dataset`` from ``data_root`` with ``n_jobs`` parallel subjects, filling the cache."""
    if data_root is not None:
        options["data_root"] = data_root
    # The loader's joblib pool gets an initializer that ends each worker with this process,
    # however it ends (benchmark.lifetime); the loaders themselves know nothing of it.
    with parallel_config(backend="loky", initializer=watch_parent, initargs=(os.getpid(),)):
        return open_dataset(dataset, n_jobs=n_jobs, **options)


def summary(data: FeatureSet) -> str:
    """One line per modality plus the sample and subject counts."""
    mods = ", ".join(f"{m} {tuple(x.shape[1:])} ({data.roles[m]})" for m, x in data.modalities.items())
    return (f"{data.name}: {len(data)} windows, {data.meta['subject'].nunique()} subjects, "
            f"{data.n_emotions} emotions; {mods}")
