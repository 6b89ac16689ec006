"""The six label-distribution measures, each with its direction, in one registry.

Zero entries, the one convention of the suite (``EPS`` is defined once, here):

- The **prediction** is clipped to [EPS, 1] before every measure (not renormalised), so a
  method that predicts an exact zero gets a large but finite Clark/Canberra/KL instead of inf
  (the HeLo and EmotionDict evaluation code has no clipping and returns inf there).
- The **truth** is never clipped in KL: KL(d ‖ p) = Σ d log(d / p) with 0 · log(0 / p) = 0,
  i.e. ``scipy.special.rel_entr(d, clip(p, EPS, 1))`` summed over emotions. A zero prediction
  where d_j > 0 costs d_j · log(d_j / EPS) (≈ 27.6 · d_j).
- In **Clark and Canberra** the truth is clipped to [EPS, 1] as well, so a term whose truth
  and prediction are both zero is 0 (perfect), not 0/0 and not 1. (Clipping only the
  prediction would charge a correct zero a full 1 per entry.)

PyLDL (python-ldl) clips both sides with ``EPS = 2.2e-16`` (float64 machine epsilon) in Clark,
Canberra and KL. The results agree to rounding except where an entry lies below 1e-12; e.g.
for an exact zero prediction where the truth is positive PyLDL's KL is larger by
d_j · log(1e-12 / 2.2e-16) ≈ 8.4 · d_j. Geng's MATLAB toolbox clips nothing (KL inf, Clark
NaN on 0/0).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import xlogy

EPS = 1e-12  # lower clip of predictions (everywhere) and of the truth (Clark, Canberra)
_METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], bool]] = {}


def _metric(name: str, higher_is_better: bool):
    def deco(fn):
        _METRICS[name] = (fn, higher_is_better)
        return fn
    return deco


@_metric("chebyshev", False)
def chebyshev(d, p):
    return np.abs(d - p).max(axis=1)


@_metric("clark", False)
def clark(d, p):
    """sqrt(Σ ((d − p) / (d + p))²), the truth clipped to [EPS, 1]: a 0 vs 0 term is 0."""
    d = np.clip(d, EPS, 1.0)
    return np.sqrt((((d - p) / (d + p)) ** 2).sum(axis=1))


@_metric("canberra", False)
def canberra(d, p):
    """Σ |d − p| / (d + p), the truth clipped to [EPS, 1]: a 0 vs 0 term is 0."""
    d = np.clip(d, EPS, 1.0)
    return (np.abs(d - p) / (d + p)).sum(axis=1)


@_metric("kl", False)
def kl(d, p):
    """KL(d ‖ p) = Σ d log(d / p), with 0 log(0 / p) = 0 (the truth is not clipped)."""
    return (xlogy(d, d) - xlogy(d, p)).sum(axis=1)


@_metric("cosine", True)
def cosine(d, p):
    return (d * p).sum(axis=1) / (np.linalg.norm(d, axis=1) * np.linalg.norm(p, axis=1))


@_metric("intersection", True)
def intersection(d, p):
    return np.minimum(d, p).sum(axis=1)


METRICS: tuple[str, ...] = tuple(_METRICS)
HIGHER_IS_BETTER: dict[str, bool] = {m: hib for m, (_, hib) in _METRICS.items()}
ARROWS = {m: ("↑" if hib else "↓") for m, hib in HIGHER_IS_BETTER.items()}


def per_sample(truth: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric per sample; ``pred`` is clipped to [EPS, 1] (see the module's conventions)."""
    d = np.asarray(truth, dtype=np.float64)
    p = np.clip(np.asarray(pred, dtype=np.float64), EPS, 1.0)
    if d.shape != p.shape:
        raise ValueError(f"truth {d.shape} and prediction {p.shape} differ in shape")
    return {name: fn(d, p) for name, (fn, _) in _METRICS.items()}


def evaluate(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric averaged over samples."""
    return {name: float(v.mean()) for name, v in per_sample(truth, pred).items()}


def evaluate_balanced(truth: np.ndarray, pred: np.ndarray, groups) -> dict[str, float]:
    """Mean metrics with every group counting once: per group (a trial) the mean over its
    samples (windows), then the mean over groups. Labels are given per trial, so this is the
    mean over the labels actually observed; `evaluate` weights trials by their length."""
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    counts = np.bincount(codes)
    return {name: float((np.bincount(codes, weights=v) / counts).mean())
            for name, v in per_sample(truth, pred).items()}


__all__ = ["ARROWS", "EPS", "HIGHER_IS_BETTER", "METRICS", "canberra", "chebyshev", "clark", "cosine",
           "evaluate", "evaluate_balanced", "intersection", "kl", "per_sample"]
