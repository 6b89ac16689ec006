"""The references beside the floor: what knowing the stimulus alone gives.

Two references read the stimulus identity, which no method is given:

- `StimulusOracle` (``oracle``): per test window, the mean training label of the windows
  with the same stimulus. Exact under the window split (a ceiling); under held-out trials it is
  the prior by construction (the subject's training data never saw the test trial's stimulus),
  so that protocol does not run it.
- `StimulusConsensus` (``consensus``): per test trial, the mean label that the *other*
  subjects gave the same stimulus (each of their trials once). It is defined under every
  protocol with subjects, and says how much of a label the stimulus explains across people.


The prior (`methods.prior`) predicts one training-mean distribution for every window; this
reference predicts, per test window, the mean training distribution of the windows that saw the
same *stimulus* (meta column ``stimulus``: the clip for DMER and synthetic data, the condition for
WESAD). No method is given the stimulus identity, so this is an oracle: it shows how much of the
label a model could explain by recognising the stimulus alone, and how much is left to the
subject's own rating style, which no stimulus tells. It is reported beside the prior, marked as an
oracle, never ranked and never in the significance tests (``oracle = True``).

Datasets without a stimulus identity (``ldl:*``) cannot have it: `reference_specs` leaves it
out of their runs, and `StimulusOracle.fit` refuses data without the column.
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


@register("consensus", family="reference",
          paper="stimulus consensus (other subjects' labels for the same stimulus)",
          display="Consensus (stimulus) ‡")
class StimulusConsensus(StimulusOracle):
    """Predicts, for each test trial, the mean label the other subjects gave its stimulus.

    The oracle's estimator on other data: ``trains_on = "other-subjects"`` makes the runner fit
    it on every window of the subjects not in the test part, whatever the fold's training part
    (under subject-dependent protocols that part holds only the test subject's own trials), so
    it is defined under every protocol with subjects. Each of their trials counts once. A
    stimulus no other subject saw gets the mean of their trials. A reference: it reads the
    stimulus at predict, so it is never ranked nor tested (``oracle = True``).
    """

    version = "1"
    trains_on = "other-subjects"


def reference_specs(methods: list[MethodSpec], meta: pd.DataFrame, add: bool,
                    meaningful: tuple[str, ...] = ("oracle",)) -> tuple[list[MethodSpec], list[MethodSpec]]:
    """(reference columns, other methods) of a run on data with ``meta``.

    The references are the plain prior and the stimulus references the protocol names as
    ``meaningful`` (`protocols.Protocol`), first and in that order: the ones listed, and
    with ``add`` the ones not listed too, so every table shows its floor and its reference.
    They run once, on every modality (a modality-drop study needs no "Prior w/o EEG"). A
    stimulus reference is left out, even when listed (e.g. by ``--methods all``), on data
    without a stimulus identity and where the protocol does not name it (under held-out
    trials the oracle is the prior by construction), with a log line. The consensus needs
    another subject: data of one subject (the DMER sample) has none.
    """
    wanted = ["prior", *(meaningful if has_stimulus(meta) else ())]
    if meta["subject"].nunique() < 2:  # no other subject to agree with: no consensus
        wanted = [n for n in wanted if n != "consensus"]
    kept = [m for m in methods if not m.cls.oracle or m.name in wanted]
    if len(kept) < len(methods):
        log.warning("stimulus reference(s) %s left out: %s", ", ".join(
            sorted({m.name for m in methods} - {m.name for m in kept})),
            "the protocol names only " + (", ".join(wanted[1:]) or "none") if has_stimulus(meta)
            else f"the dataset has no {STIMULUS!r} meta column")
    refs = [MethodSpec(n) for n in wanted if add or MethodSpec(n) in kept]
    return refs, [m for m in kept if m not in refs]
