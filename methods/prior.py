"""The floor every method must beat: predict the training-mean distribution."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from datasets.base import FeatureSet

from .base import BaseMethod
from .registry import register


def trial_balanced_mean(data: FeatureSet) -> np.ndarray:
    """The mean label distribution with every trial weighted once: each (subject, trial)'s
    windows averaged, then the trials averaged, as the tables' trial-balanced means weigh the
    test windows (a long trial counts as much as a short one)."""
    frame = pd.DataFrame(data.labels)
    keys = [data.meta["subject"].to_numpy(), data.meta["trial"].to_numpy()]
    return frame.groupby(keys, sort=True).mean().to_numpy().mean(axis=0)


@register("prior", family="reference", paper="training-mean baseline", display="Prior")
class Prior(BaseMethod):
    """Predicts the mean label distribution of the training data for every sample.

    The mean is trial-balanced (`trial_balanced_mean`): each training trial's windows are
    averaged, then the trials, since the tables rank the trial-balanced mean of the scores, which
    weighs every test trial once. It does not use the validation part, so it is fitted on the
    fold's training and validation parts merged (``uses_validation = False``): all the non-test
    data the protocol gives.
    """

    version = "2"  # 2: trial-balanced mean; fitted on training + validation
    uses_validation: ClassVar[bool] = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "Prior":
        self.mean_ = trial_balanced_mean(train)
        return self

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "mean_")
        return np.tile(self.mean_, (len(data), 1))

    def n_parameters(self) -> int:
        return len(self.mean_)
