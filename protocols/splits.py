"""Splitters: pure functions of (meta, seed) returning folds with an inner validation split.

Every fold's validation part is carved from its training part, never from the test part
(LibEER #12 selected models on the test set). The validation split follows the fold's
grouping: under LOSO whole training subjects are held out for validation, under
``group="trial"`` whole trials, so early stopping sees the same kind of shift the test sees.

The seed draws the partition: the runner passes each run seed (or the fixed ``split_seed``)
to the splitter, so ``--seeds 0,1`` evaluates two partitions, not one partition twice.

Each protocol declares what the data must provide (`Requirements`); `check_data`
refuses data that cannot support it before any job runs, naming the protocol, the dataset and
the count, instead of letting every job fail on an empty training part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from datasets.base import DataError
from core.params import Choice, Constraint, Int, Optional, Real

# Protocol options the runner consumes before splitting (per-subject feature normalisation);
# they belong to the protocol's settings, but no splitter takes them.
RUNNER_OPTIONS = ("normalize",)
GROUPS = ("trial", "window")


class ProtocolError(DataError):
    """Data a protocol cannot split (too few subjects or trials, dependent samples under k-fold),
    or options that contradict each other; the message names the protocol, the dataset and the
    count. A `DataError`, so the command line reports it as one ``error:`` line."""


@dataclass(frozen=True)
class Fold:
    """One train/val/test partition. ``block`` is the unit results are averaged over first
    (a subject for subject-dependent and LOSO, the fold itself for k-fold CV)."""

    index: int
    block: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Requirements:
    """What a protocol needs of the data.

    ``min_subjects``: distinct subjects. ``min_units_per_subject``: trials (or windows, under
    ``group="window"``) every subject must have. ``independent_samples``: the splitter treats
    samples as exchangeable, so the data must have one subject and one window per trial.
    ``structure``: the meta columns whose grouping the splitter relies on (``"trial"`` stands for
    the ``group`` option's unit); a dataset whose loader declares those columns placeholders
    (``FeatureSet.info["structure"]``, e.g. the LDL files: one pseudo-subject, one sample per
    trial) cannot be split so, however many rows it has.
    """

    min_subjects: int = 1
    min_units_per_subject: int = 1
    independent_samples: bool = False
    structure: tuple[str, ...] = ()


def _no_design(options: dict) -> str:
    return ""


def _no_oracle(options: dict) -> str | None:
    return None


def _no_references(options: dict) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Protocol:
    """A registered protocol. It describes itself, so reports never re-type its defaults:
    ``describe(options)`` is the split design in words for table titles (options resolved:
    defaults filled in), and ``oracle(options)`` says what the stimulus oracle means under it
    (a key of `reports.tables.ORACLE_MEANINGS`, or None for "every meaning");
    ``references(options)`` names the stimulus references (registered reference methods, beside
    the prior) that mean something under it, the first being the one "gap closed" is measured
    against: a reference equal to the prior by construction is not run."""

    name: str
    splitter: Callable[..., list[Fold]]
    doc: str
    block_kind: str  # "subject": blocks are subjects; "fold": resampled folds sharing training data
    requires: Requirements
    constraints: dict[str, Constraint]  # option -> accepted values, checked before the data loads
    describe: Callable[[dict], str] = _no_design
    oracle: Callable[[dict], str | None] = _no_oracle
    references: Callable[[dict], tuple[str, ...]] = _no_references


_PROTOCOLS: dict[str, Protocol] = {}


# Constraints of the options the built-in splitters share (core.params declarations).
VAL_SIZE = Real(low=0, high=1, high_open=True)
N_SPLITS, REPEATS = Int(low=2), Int(low=1)


def register_protocol(name: str, doc: str, block_kind: str = "subject",
                      requires: Requirements = Requirements(),
                      constraints: dict[str, Constraint] | None = None,
                      describe: Callable[[dict], str] | None = None,
                      oracle: Callable[[dict], str | None] | None = None,
                      references: Callable[[dict], tuple[str, ...]] | None = None):
    """Decorator registering ``fn(meta, seed=0, **options) -> list[Fold]`` under ``name``.

    ``requires`` says what the data must provide; ``constraints`` declares the accepted values
    of each option (e.g. ``{"val_size": Real(low=0, high=1, high_open=True)}``); ``describe``
    and ``oracle`` are the protocol's own words for table titles and notes (`Protocol`).
    A new protocol is this one registration.
    """
    if block_kind not in ("subject", "fold"):
        raise ValueError(f"protocol {name!r}: block_kind must be 'subject' or 'fold'")

    def deco(fn):
        _PROTOCOLS[name] = Protocol(name, fn, doc, block_kind, requires, dict(constraints or {}),
                                    describe or _no_design, oracle or _no_oracle,
                                    references or _no_references)
        return fn
    return deco


def _discover() -> None:
    """Import every module of this package once, so their ``@register_protocol`` run (the
    package is found in ``sys.modules``: importing it from here would make a circle)."""
    import sys

    from core.discovery import import_submodules

    import_submodules(sys.modules[__package__])


def available_protocols() -> dict[str, str]:
    _discover()
    return {name: p.doc for name, p in sorted(_PROTOCOLS.items())}


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name``; unknown names list the valid ones."""
    _discover()
    if name not in _PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; valid: {', '.join(available_protocols())}")
    return _PROTOCOLS[name]


def get_splitter(name: str) -> Callable[..., list[Fold]]:
    return get_protocol(name).splitter


def options_for(name: str, options: dict) -> dict:
    """The part of ``options`` protocol ``name`` takes: its splitter's options, and the runner's
    (``normalize``), which every protocol takes. An experiment routes its options this way, so
    ``--group`` reaches its subject-dependent parts and not its LOSO parts."""
    import inspect

    accepted = set(inspect.signature(get_splitter(name)).parameters) - {"meta", "seed"}
    return {k: v for k, v in options.items() if k in accepted or k in RUNNER_OPTIONS}


def resolve_options(name: str, options: dict) -> dict:
    """The splitter options of protocol ``name``: its defaults, overridden by ``options``
    (runner options such as ``normalize`` left out). Job keys and table titles use these, so
    ``--group trial`` and the default give the same jobs, and a title states every setting."""
    import inspect

    params = inspect.signature(get_splitter(name)).parameters
    defaults = {k: p.default for k, p in params.items() if k not in ("meta", "seed")
                and p.default is not inspect.Parameter.empty}
    return {**defaults, **{k: v for k, v in options.items() if k not in RUNNER_OPTIONS}}


def check_data(name: str, meta: pd.DataFrame, dataset: str, options: dict,
               structure: tuple[str, ...] | None = None) -> None:
    """Raise `ProtocolError` when ``meta`` cannot support protocol ``name`` with
    ``options``; the message names the protocol, the dataset and the count. ``structure`` is the
    data's declaration of which meta columns carry real grouping (None: all of them)."""
    req = get_protocol(name).requires
    if structure is not None:
        group = options.get("group", "trial")
        needed = [group if c == "trial" else c for c in req.structure]
        missing = [c for c in needed if c != "window" and c not in structure]
        if missing:
            usable = [p for p, proto in _PROTOCOLS.items() if not proto.requires.structure]
            raise ProtocolError(
                f"protocol {name!r}" + (f" (group={group})" if "group" in options else "")
                + f" splits by {' and '.join(needed)}, but dataset {dataset!r} has no "
                f"{' or '.join(missing)} structure (its meta column(s) {', '.join(missing)} are "
                f"placeholders); use {' or '.join(map(repr, usable)) or 'another protocol'}")
    subjects = meta["subject"]
    n_subjects = subjects.nunique()
    if n_subjects < req.min_subjects:
        raise ProtocolError(f"protocol {name!r} needs at least {req.min_subjects} subjects; dataset "
                            f"{dataset!r} has {n_subjects}")
    if req.min_units_per_subject > 1:
        group = options.get("group", "trial")
        counts = (meta.groupby("subject", sort=False)["trial"].nunique() if group == "trial"
                  else subjects.value_counts(sort=False))
        if counts.min() < req.min_units_per_subject:
            raise ProtocolError(
                f"protocol {name!r} (group={group}) needs at least {req.min_units_per_subject} "
                f"{group}s per subject; dataset {dataset!r} subject {counts.idxmin()} has "
                f"{counts.min()}")
    if req.independent_samples:
        per_trial = int(meta.groupby(["subject", "trial"], sort=False).size().max())
        if n_subjects > 1 or per_trial > 1:
            raise ProtocolError(
                f"protocol {name!r} splits samples as if they were independent, but dataset "
                f"{dataset!r} has {n_subjects} subjects and up to {per_trial} windows per trial, "
                "so its folds would share subjects and trials; use 'subject-dependent' (whole "
                "trials held out within each subject) or 'loso'")


def check_folds(name: str, folds: list[Fold], dataset: str) -> None:
    """Every fold has a training and a test part (the declared requirements make this hold
    for the built-in protocols; a plugin protocol is checked here)."""
    if not folds:
        raise ProtocolError(f"protocol {name!r} made no fold on dataset {dataset!r}")
    for f in folds:
        if not len(f.train) or not len(f.test):
            raise ProtocolError(f"protocol {name!r} on dataset {dataset!r}: fold {f.index} "
                                f"(block {f.block}) has {len(f.train)} training and {len(f.test)} "
                                "test samples")


def _carve(idx: np.ndarray, groups: np.ndarray, fraction: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, held-out) with about ``fraction`` of its groups held out."""
    uniq = np.unique(groups)
    n_out = max(1, int(round(fraction * len(uniq)))) if len(uniq) > 1 and fraction > 0 else 0
    out = rng.choice(uniq, size=n_out, replace=False) if n_out else uniq[:0]
    mask = np.isin(groups, out)
    return idx[~mask], idx[mask]


def _subject_dependent_design(options: dict) -> str:
    group, k, folds = options.get("group", "trial"), options.get("n_splits", 5), options.get("folds")
    if folds is None or folds >= k:
        runs = f"every {group} tested once, {k} folds per subject"
    else:
        runs = f"{folds} of {k} folds per subject, not every {group} tested"
    return (f"trials held out: {runs}" if group == "trial" else
            f"window split, {runs}: windows of one trial on both sides, optimistic")


def _subject_dependent_references(options: dict) -> tuple[str, ...]:
    """Held-out trials: the subject's own training data never saw the test trial's stimulus, so
    the stimulus oracle is the prior by construction and only the other subjects' consensus
    means something. The window split: the oracle is exact (a ceiling) and leads."""
    return ("consensus",) if options.get("group", "trial") == "trial" else ("oracle", "consensus")


@register_protocol(
    "subject-dependent",
    "per subject, grouped k-fold over whole trials (default: all 5 folds, every trial tested "
    "once; folds=1 for a quick look); group='window' is the paper's random window split, which "
    "puts windows of one trial on both sides (optimistic)",
    requires=Requirements(min_units_per_subject=2, structure=("subject", "trial")),
    constraints={"group": Choice(*GROUPS), "n_splits": N_SPLITS, "folds": Optional(Int(low=1)),
                 "repeats": REPEATS, "val_size": VAL_SIZE},
    describe=_subject_dependent_design, oracle=lambda options: options.get("group", "trial"),
    references=_subject_dependent_references)
def subject_dependent(meta: pd.DataFrame, seed: int = 0, group: str = "trial", n_splits: int = 5,
                      folds: int | None = None, repeats: int = 1, val_size: float = 0.1) -> list[Fold]:
    """Per subject, its units (trials, or windows under ``group='window'``) shuffled and dealt
    into ``n_splits`` groups; the first ``folds`` of them (``None``: all, so every unit is tested
    once per repeat) are test parts. ``repeats`` deals again with fresh shuffles. ``val_size``
    of each training part's units is the inner validation part.

    The default tests every unit once (``folds=None``: all ``n_splits`` folds; on WESAD's five
    conditions, leave one condition out), so a subject's score does not depend on which 20% of
    its trials one fold happened to hold out. ``folds=1`` runs one fold of ``n_splits`` (20% of
    each subject's trials, the paper's 80/20 size) for a quick look. A subject with fewer
    units than ``n_splits`` gets one fold per unit (leave-one-trial-out; on WESAD,
    leave-one-condition-out).
    """
    if folds is not None and folds > n_splits:
        raise ProtocolError(f"protocol 'subject-dependent': folds={folds} is more than "
                            f"n_splits={n_splits}; give at most n_splits, or null for all")
    trials = meta["trial"].to_numpy()
    out = []
    for i, subject in enumerate(pd.unique(meta["subject"])):
        idx = np.flatnonzero((meta["subject"] == subject).to_numpy())
        units = trials[idx] if group == "trial" else idx
        uniq = np.unique(units)
        k = min(n_splits, len(uniq))
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            parts = np.array_split(rng.permutation(uniq), k)
            for f, held in enumerate(parts[:k if folds is None else min(folds, k)]):
                mask = np.isin(units, held)
                train, test = idx[~mask], idx[mask]
                tunits = trials[train] if group == "trial" else train
                train, val = _carve(train, tunits, val_size, rng)
                out.append(Fold(len(out), str(subject), np.sort(train), np.sort(val), np.sort(test)))
    return out


@register_protocol("loso", "leave one subject out, all subjects; validation = held-out training subjects",
                   requires=Requirements(min_subjects=2, structure=("subject",)),
                   constraints={"val_size": VAL_SIZE},
                   oracle=lambda options: "loso", references=lambda options: ("consensus",))
def loso(meta: pd.DataFrame, seed: int = 0, val_size: float = 0.1) -> list[Fold]:
    """One fold per subject; about ``val_size`` of the other subjects form the validation part
    (the seed draws them; the partition itself is fixed by the design)."""
    subjects = meta["subject"].to_numpy()
    folds = []
    for i, subject in enumerate(pd.unique(subjects)):
        rng = np.random.default_rng([seed, i])
        test = np.flatnonzero(subjects == subject)
        rest = np.flatnonzero(subjects != subject)
        train, val = _carve(rest, subjects[rest], val_size, rng)
        folds.append(Fold(i, str(subject), train, np.sort(val), test))
    return folds
