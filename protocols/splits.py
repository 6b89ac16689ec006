"""Splitters: pure functions of (meta, seed) returning folds with an inner validation split.

Every fold's validation part is carved from its training part, never from the test part
(LibEER #12 selected models on the test set). The validation split follows the fold's
grouping: under LOSO whole training subjects are held out for validation, under
``group="trial"`` whole trials, so early stopping sees the same kind of shift the test sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

# Protocol options the runner consumes before splitting (per-subject feature normalisation);
# they belong to the protocol's settings, but no splitter takes them.
RUNNER_OPTIONS = ("normalize",)
_SPLITTERS: dict[str, Callable[..., list["Fold"]]] = {}
_DOCS: dict[str, str] = {}


@dataclass(frozen=True)
class Fold:
    """One train/val/test partition. ``block`` is the unit results are averaged over first
    (a subject for subject-dependent and LOSO, the fold itself for k-fold CV)."""

    index: int
    block: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def register_protocol(name: str, doc: str):
    def deco(fn):
        _SPLITTERS[name] = fn
        _DOCS[name] = doc
        return fn
    return deco


def _discover() -> None:
    """Import every module of this package once, so their ``@register_protocol`` run."""
    import protocols
    from datasets.discovery import import_submodules

    import_submodules(protocols)


def available_protocols() -> dict[str, str]:
    _discover()
    return dict(sorted(_DOCS.items()))


def get_splitter(name: str) -> Callable[..., list[Fold]]:
    """The splitter registered as ``name``; unknown names list the valid ones."""
    _discover()
    if name not in _SPLITTERS:
        raise KeyError(f"unknown protocol {name!r}; valid: {', '.join(available_protocols())}")
    return _SPLITTERS[name]


def _carve(idx: np.ndarray, groups: np.ndarray, fraction: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, held-out) with about ``fraction`` of its groups held out."""
    uniq = np.unique(groups)
    n_out = max(1, int(round(fraction * len(uniq)))) if len(uniq) > 1 else 0
    out = rng.choice(uniq, size=n_out, replace=False) if n_out else uniq[:0]
    mask = np.isin(groups, out)
    return idx[~mask], idx[mask]


@register_protocol("subject-dependent",
                   "per subject, random 80/20 of windows [paper]; group='trial' keeps trials whole")
def subject_dependent(meta: pd.DataFrame, seed: int = 0, test_size: float = 0.2,
                      val_size: float = 0.1, group: str = "window") -> list[Fold]:
    """One fold per subject: a random ``test_size`` of its windows (or of its trials when
    ``group='trial'``) is the test part; ``val_size`` of the rest is the validation part."""
    if group not in ("window", "trial"):
        raise ValueError(f"group must be 'window' or 'trial', got {group!r}")
    folds = []
    for i, subject in enumerate(pd.unique(meta["subject"])):
        rng = np.random.default_rng([seed, i])
        idx = np.flatnonzero((meta["subject"] == subject).to_numpy())
        groups = meta["trial"].to_numpy()[idx] if group == "trial" else idx
        train, test = _carve(idx, groups, test_size, rng)
        tgroups = meta["trial"].to_numpy()[train] if group == "trial" else train
        train, val = _carve(train, tgroups, val_size, rng)
        folds.append(Fold(i, str(subject), np.sort(train), np.sort(val), np.sort(test)))
    return folds


@register_protocol("loso", "leave one subject out, all subjects; validation = held-out training subjects")
def loso(meta: pd.DataFrame, seed: int = 0, val_size: float = 0.1) -> list[Fold]:
    """One fold per subject; about ``val_size`` of the other subjects form the validation part."""
    subjects = meta["subject"].to_numpy()
    folds = []
    for i, subject in enumerate(pd.unique(subjects)):
        rng = np.random.default_rng([seed, i])
        test = np.flatnonzero(subjects == subject)
        rest = np.flatnonzero(subjects != subject)
        train, val = _carve(rest, subjects[rest], val_size, rng)
        folds.append(Fold(i, str(subject), train, np.sort(val), test))
    return folds
