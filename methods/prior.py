"""The floor every method must beat: predict the training-mean distribution."""
from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from datasets.base import FeatureSet

from .base import BaseMethod
from .registry import register


@register("prior", family="reference", paper="training-mean baseline", display="Prior")
class Prior(BaseMethod):
    """Predicts the mean label distribution of the training fold for every sample."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "Prior":
        self.mean_ = train.labels.mean(axis=0)
        return self

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "mean_")
        return np.tile(self.mean_, (len(data), 1))

    def n_parameters(self) -> int:
        return len(self.mean_)
