"""The output contract of `methods.base.BaseMethod.predict`, checked wherever a
prediction is used: by the runner before scoring, by the tuner before selecting, and by the
conformance checks a plugin runs in its own CI.

A prediction is an (n, C) array of finite, non-negative rows that sum to 1 within
`datasets.base.SIMPLEX_TOL`; anything else is a `PredictionError`, recorded as an
``invalid`` job rather than scored.
"""
from __future__ import annotations

import numpy as np

from datasets.base import SIMPLEX_TOL


class PredictionError(ValueError):
    """A method's prediction breaks the contract: (n, C), finite, >= 0, rows sum to 1."""


def check_prediction(pred, n: int, c: int) -> np.ndarray:
    """Raise `PredictionError` unless ``pred`` is (n, C) rows on the simplex."""
    p = np.asarray(pred, dtype=np.float64)
    if p.shape != (n, c):
        raise PredictionError(f"prediction has shape {p.shape}, expected ({n}, {c})")
    if not np.isfinite(p).all():
        raise PredictionError("prediction has NaN or inf")
    if (p < 0).any():
        raise PredictionError(f"prediction has negative entries (min {p.min():.3g})")
    dev = np.abs(p.sum(axis=1) - 1).max()
    if dev > SIMPLEX_TOL:
        raise PredictionError(f"prediction rows do not sum to 1 (max deviation {dev:.3g})")
    return p
