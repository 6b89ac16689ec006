"""Ridge-LDL: ridge regression onto the label distribution, put back on the simplex."""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from methods.base import BaseMethod, ConcatFeatures, normalise_rows
from core.params import Real


class RidgeLDL(BaseMethod):
    """Ridge regression from the standardised concatenation of all modalities to the emotion
    distribution; predictions are clipped below at ``floor`` and renormalised onto the simplex.

    ``alpha`` defaults to 100 because the data have more features than training windows
    (~900 against a few hundred per DMER-shaped fold): alpha = 1 interpolates and loses to the
    training-mean prior. ``floor`` keeps every emotion above zero, since an exact zero costs
    d_j · log(d_j / 1e-12) of KL where the truth is positive. ``search_space``: alpha by
    decades — our choice.

    It does not use the validation part, and says so (``uses_validation = False``): the runner
    then fits it on the fold's training and validation parts merged.

    Registered under the entry point's name (``ridge-ldl``, in pyproject.toml) with the
    ``family``, ``paper``, ``year`` and ``display`` set here.
    """

    family = "LDL"
    paper = "Example plugin of the mixed-emotion benchmark suite"
    year = 2026
    display = "Ridge-LDL"
    version = "2"  # 2: declares uses_validation = False, so it trains on training + validation
    uses_validation = False
    search_space = {"alpha": [1.0, 10.0, 100.0, 1000.0, 10000.0]}
    constraints = {"alpha": Real(low=0, low_open=True), "floor": Real(low=0, high=1, high_open=True)}

    def __init__(self, alpha: float = 100.0, floor: float = 1e-3, random_state=None):
        self.alpha = alpha
        self.floor = floor
        self.random_state = random_state  # deterministic: accepted for the common interface

    def fit(self, train, val=None) -> "RidgeLDL":
        self.features_ = ConcatFeatures().fit(train)
        self.model_ = Ridge(alpha=self.alpha).fit(self.features_.transform(train), train.labels)
        return self

    def predict(self, data) -> np.ndarray:
        check_is_fitted(self, "model_")
        return normalise_rows(np.clip(self.model_.predict(self.features_.transform(data)), self.floor, None))

    def n_parameters(self) -> int:
        return int(self.model_.coef_.size + self.model_.intercept_.size)
