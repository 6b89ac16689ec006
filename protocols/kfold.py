"""k-fold cross-validation over samples, the standard protocol of the LDL literature
(10-fold CV, repeated with different seeds: ``n_splits=10, repeats=10`` is Geng's 10 × 10).

Only for data whose samples are exchangeable: one subject and one window per trial (the
``ldl:*`` datasets). On windowed subject data the folds would share trials and subjects, so the
protocol declares ``independent_samples`` and such data is refused, naming the grouped
protocols to use. Folds share (k − 2)/(k − 1) of their training data, so their blocks are
``fold`` blocks: reports correct intervals and tests for the overlap (Nadeau & Bengio, 2003).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from .splits import (N_SPLITS, REPEATS, VAL_SIZE, Fold, ProtocolError, Requirements, _carve,
                     register_protocol)


@register_protocol("kfold", "k-fold CV over samples (default 10 folds, `repeats` redraws); "
                            "for data with independent samples (the standard LDL datasets)",
                   block_kind="fold", requires=Requirements(independent_samples=True),
                   constraints={"n_splits": N_SPLITS, "repeats": REPEATS, "val_size": VAL_SIZE},
                   describe=lambda options: f"{options.get('n_splits', 10)} folds")
def kfold(meta: pd.DataFrame, seed: int = 0, n_splits: int = 10, repeats: int = 1,
          val_size: float = 0.1) -> list[Fold]:
    """``repeats`` × ``n_splits`` folds; fold ``block`` is ``r{repeat}f{fold}``.

    Repeat r shuffles with the seed sequence (seed, r), so repeats differ and the same seed
    gives the same folds. ``val_size`` of each training part (samples, chosen at random) is
    the inner validation part.
    """
    n = len(meta)
    if n_splits > n:
        raise ProtocolError(f"protocol 'kfold': n_splits={n_splits} is more than the {n} samples")
    folds = []
    for r in range(repeats):
        shuffle_seed = int(np.random.default_rng([seed, r]).integers(2**31))
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=shuffle_seed)
        for f, (train, test) in enumerate(splitter.split(np.arange(n))):
            rng = np.random.default_rng([seed, r, f])
            train, val = _carve(train, train, val_size, rng)
            folds.append(Fold(len(folds), f"r{r}f{f}", np.sort(train), np.sort(val), np.sort(test)))
    return folds
