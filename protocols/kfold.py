"""k-fold cross-validation over samples, the standard protocol of the LDL literature
(10-fold CV, repeated with different seeds)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from .splits import Fold, _carve, register_protocol


@register_protocol("kfold", "k-fold CV over samples (default 10 folds), repeatable with new seeds; "
                            "for the standard LDL datasets")
def kfold(meta: pd.DataFrame, seed: int = 0, n_splits: int = 10, repeats: int = 1,
          val_size: float = 0.1) -> list[Fold]:
    """``repeats`` × ``n_splits`` folds; fold ``block`` is ``r{repeat}f{fold}``.

    Repeat r shuffles with the seed sequence (seed, r), so repeats differ and the same seed
    gives the same folds. ``val_size`` of each training part (samples, chosen at random) is
    the inner validation part.
    """
    n = len(meta)
    if not 2 <= n_splits <= n:
        raise ValueError(f"n_splits must be in [2, {n}], got {n_splits}")
    folds = []
    for r in range(repeats):
        shuffle_seed = int(np.random.default_rng([seed, r]).integers(2**31))
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=shuffle_seed)
        for f, (train, test) in enumerate(splitter.split(np.arange(n))):
            rng = np.random.default_rng([seed, r, f])
            train, val = _carve(train, train, val_size, rng)
            folds.append(Fold(len(folds), f"r{r}f{f}", np.sort(train), np.sort(val), np.sort(test)))
    return folds
