"""AA-KNN (Geng, TKDE 2016): the mean of the k nearest training distributions."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from datasets.base import FeatureSet

from .base import BaseMethod, ConcatFeatures
from core.params import Choice, Int
from .registry import register


@register("aa-knn", family="LDL", paper="Geng, Label Distribution Learning, TKDE 2016", year=2016)
class AAKNN(BaseMethod):
    """Algorithm-adaptation k-NN for label distributions.

    d̂(x) = (1/k) Σ_{i ∈ N_k(x)} d_i, unweighted, Euclidean distance on the standardised
    concatenation of all modalities (Geng's LDLPackage ``aaknn.m`` with its EDL default k = 4).
    Deterministic: ``random_state`` is accepted for the common interface only.

    ``search_space``: k over 1 … 24 — our choice; Geng (TKDE 2016) fixes k rather than
    searching it.

    Validation: does not use the validation part (``uses_validation = False``), so the runner
    fits it on the fold's training and validation parts merged; tuned, its candidates are fitted
    on the training part, scored on the validation part, and the winner is refitted on both.
    """

    version = "2"  # 2: fitted on training + validation (uses_validation = False)
    uses_validation: ClassVar[bool] = False

    search_space: ClassVar[dict] = {"k": [1, 2, 3, 4, 6, 8, 12, 16, 24]}
    # metric: NearestNeighbors' distances for real-valued vectors that need no extra parameter
    # (not the boolean ones, haversine's 2-d, mahalanobis/seuclidean's matrices, precomputed).
    constraints: ClassVar[dict] = {
        "k": Int(low=1),
        "metric": Choice("euclidean", "sqeuclidean", "manhattan", "cityblock", "l1", "l2",
                         "chebyshev", "minkowski", "cosine", "correlation", "canberra"),
    }

    def __init__(self, k: int = 4, metric: str = "euclidean", random_state=None):
        self.k = k
        self.metric = metric
        self.random_state = random_state

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "AAKNN":
        self.features_ = ConcatFeatures().fit(train)
        x = self.features_.transform(train)
        self.nn_ = NearestNeighbors(n_neighbors=min(self.k, len(x)), metric=self.metric).fit(x)
        self.labels_ = train.labels
        return self

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "nn_")
        _, idx = self.nn_.kneighbors(self.features_.transform(data))
        return self.labels_[idx].mean(axis=1)
