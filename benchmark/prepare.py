"""``python -m benchmark prepare``: extract and cache a real dataset's features once.

Runs the dataset's loader, which extracts every subject's features in parallel (joblib,
``n_jobs``) behind a progress bar and stores them in the per-subject feature cache
(`datasets.cache`); later ``run`` commands with the same data and options read the cache.
"""
from __future__ import annotations

import inspect
import os

from joblib import parallel_config

from datasets import get_loader, load_dataset
from datasets.base import DataError, FeatureSet

from .lifetime import watch_parent


def open_dataset(name: str, **options) -> FeatureSet:
    """``load_dataset`` with a loader's missing-file ``OSError`` (e.g. ldl's FileNotFoundError,
    whose message lists what was looked for) reported as the DataError it is."""
    try:
        return load_dataset(name, **options)
    except OSError as exc:
        raise DataError(f"dataset {name!r}: {exc}") from exc


def label_items(name: str, options: dict):
    """The label construction a load of ``name`` with ``options`` used: the ``items`` option as
    given, else the loader's default; None for loaders without one. The run records it in its
    manifest, so tables state it without consulting the loader again."""
    if "items" in options:
        return options["items"]
    param = inspect.signature(get_loader(name)).parameters.get("items")
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def extracts_per_subject(name: str) -> bool:
    """Whether the loader of ``name`` extracts features subject by subject (it takes ``n_jobs``):
    then a pool of workers can fill its cache, and `run` uses its own workers for it."""
    return "n_jobs" in inspect.signature(get_loader(name)).parameters


def prepare(dataset: str, data_root: str | None = None, n_jobs: int | None = 1, **options) -> FeatureSet:
    """Load ``dataset`` from ``data_root`` with ``n_jobs`` parallel subjects, filling the cache
    (``n_jobs=None``: a loader that reads one file and takes no ``n_jobs``)."""
    if data_root is not None:
        options["data_root"] = data_root
    if n_jobs is not None:
        options["n_jobs"] = n_jobs
    # The loader's joblib pool gets an initializer that ends each worker with this process,
    # however it ends (benchmark.lifetime); the loaders themselves know nothing of it.
    with parallel_config(backend="loky", initializer=watch_parent, initargs=(os.getpid(),)):
        return open_dataset(dataset, **options)


def summary(data: FeatureSet) -> str:
    """One line per modality plus the sample and subject counts."""
    mods = ", ".join(f"{m} {tuple(x.shape[1:])} ({data.roles[m]})" for m, x in data.modalities.items())
    return (f"{data.name}: {len(data)} windows, {data.meta['subject'].nunique()} subjects, "
            f"{data.n_emotions} emotions; {mods}")
