"""The ceiling beside the floor: the mean training label of windows with the same stimulus.

The prior (:mod:`methods.prior`) predicts one training-mean distribution for every window; this
reference predicts, per test window, the mean training distribution of the windows that saw the
same *stimulus* (meta column ``stimulus``: the clip for DMER and synthetic data, the condition for
WESAD). No method is given the stimulus identity, so this is an oracle: it shows how much of the
label a model could explain by recognising the stimulus alone, and how much is left to the
subject's own rating style, which no stimulus tells. It is reported beside the prior, marked as an
oracle, never ranked and never in the significance tests (``oracle = True``).

Datasets without a stimulus identity (``ldl:*``) cannot have it: :func:`reference_specs` leaves it
out of their runs, and :meth:`StimulusOracle.fit` refuses data without the column.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from datasets.base import DataError, FeatureSet

from .base import BaseMethod
from .prior import trial_balanced_mean
from .registry import MethodSpec, register

STIMULUS = "stimulus"
log = logging.getLogger(__name__)


def has_stimulus(meta: pd.DataFrame) -> bool:
    """Whether a dataset carries a stimulus identity (the oracle's input)."""
    return STIMULUS in meta.columns


@register("oracle", family="reference", paper="stimulus oracle (reads the stimulus identity)",
          display="Oracle (stimulus) ‡")
class StimulusOracle(BaseMethod):
    """Predicts the mean training distribution of the training windows with the test window's
    stimulus (meta column ``stimulus``), trial-balanced as the prior's (each training trial's
    windows averaged, then that stimulus's trials).

    A stimulus absent from the training fold (e.g. a clip held out whole under ``--group trial``)
    falls back to the training mean, i.e. to the prior's prediction: the oracle then knows no
    more than the prior (logged with the number of such windows).

    ``oracle = True``: the one kind of method whose ``predict`` is given every meta column
    (``methods.base.predict_view``); it does not use the validation part, so it is fitted on the
    training and validation parts merged (``uses_validation = False``).
    """

    version = "2"  # 2: trial-balanced means, as the prior's; fitted on training + validation
    oracle = True
    uses_validation = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "StimulusOracle":
        if not has_stimulus(train.meta):
            raise DataError(f"{train.name}: the stimulus oracle needs a meta column "
                            f"{STIMULUS!r} (clip or condition id); this dataset has none")
        # trial-balanced, as the prior (each trial's windows averaged, then the trials)
        meta = train.meta
        trials = pd.DataFrame(train.labels).groupby(
            [meta["subject"].to_numpy(), meta["trial"].to_numpy(), meta[STIMULUS].to_numpy()]).mean()
        self.means_ = trials.groupby(level=2).mean()
        self.mean_ = trial_balanced_mean(train)
        return self

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "means_")
        stimuli = data.meta[STIMULUS].to_numpy()
        seen = pd.Index(self.means_.index).get_indexer(stimuli)
        if (seen < 0).any():
            log.info("stimulus oracle: %d of %d test windows have a stimulus unseen in training; "
                     "they get the training mean", int((seen < 0).sum()), len(stimuli))
        table = np.vstack([self.means_.to_numpy(), self.mean_[None, :]])
        return table[np.where(seen < 0, len(self.means_), seen)]

    def n_parameters(self) -> int:
        return int(self.means_.size + self.mean_.size)


def reference_specs(methods: list[MethodSpec], meta: pd.DataFrame,
                    add: bool) -> tuple[list[MethodSpec], list[MethodSpec]]:
    """(reference columns, other methods) of a run on data with ``meta``.

    The references are the plain prior and stimulus oracle, first and in that order: the ones
    listed, and with ``add`` the ones not listed too, so every table shows its floor and
    ceiling. They run once, on every modality (a modality-drop study needs no "Prior w/o EEG").
    On data without a stimulus identity the oracle is left out even when listed (e.g. by
    ``--methods all``), with a log line.
    """
    stimulus = has_stimulus(meta)
    kept = [m for m in methods if stimulus or not m.cls.oracle]
    if len(kept) < len(methods):
        log.warning("stimulus oracle left out: the dataset has no %r meta column", STIMULUS)
    wanted = ["prior", "oracle"] if stimulus else ["prior"]
    refs = [MethodSpec(n) for n in wanted if add or MethodSpec(n) in kept]
    return refs, [m for m in kept if m not in refs]
