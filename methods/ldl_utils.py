"""Helpers shared by the classical label-distribution methods (PT-SVM, SA-CPNN, LDL-LRR,
TLR-DL, CAD): a stratified subsample for methods whose cost grows faster than linearly in n,
the Euclidean projection onto the probability simplex, and the concatenation of a batch's
modalities for the neural ones.
"""
from __future__ import annotations

import logging

import numpy as np
import torch

from datasets.base import FeatureSet

log = logging.getLogger(__name__)


def stratified_subsample(train: FeatureSet, max_samples: int | None,
                         rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``max_samples`` training samples, stratified by (subject, dominant label).

    Each stratum keeps its share of the training set (largest-remainder rounding), so a pooled
    LOSO training set keeps every subject and every dominant emotion in proportion. Returns all
    indices (sorted) when ``max_samples`` is None or not smaller than the training set. The
    subsampling is logged as a warning, so it is never silent.
    """
    n = len(train)
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    if max_samples < 1:
        raise ValueError(f"max_samples must be >= 1, got {max_samples}")
    strata = np.char.add(train.subjects.astype(str),
                         np.char.add("|", train.labels.argmax(axis=1).astype(str)))
    names, codes = np.unique(strata, return_inverse=True)
    sizes = np.bincount(codes, minlength=len(names))
    quota = sizes * (max_samples / n)
    take = np.floor(quota).astype(int)
    remainder = max_samples - take.sum()
    take[np.argsort(-(quota - take), kind="stable")[:remainder]] += 1
    chosen = [rng.choice(np.flatnonzero(codes == s), size=k, replace=False)
              for s, k in enumerate(take) if k]
    idx = np.sort(np.concatenate(chosen))
    log.warning("subsampled %d of %d training samples (stratified by subject and dominant label)",
             len(idx), n)
    return idx


def project_simplex(v: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Row-wise Euclidean projection onto {p : p_j >= floor, Σ_j p_j = 1}.

    ``floor = 0`` is the probability simplex, by the sort-based algorithm (Held et al. 1974;
    Duchi et al. 2008; Condat 2016 gives faster variants with the same result): for each row
    the threshold τ is found from the sorted entries and the projection is max(v - τ, 0).
    A positive floor shifts by it and projects onto the simplex of mass 1 - C·floor.
    """
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if floor:
        mass = 1.0 - v.shape[1] * floor
        if mass <= 0:
            raise ValueError(f"floor {floor} too large for {v.shape[1]} labels")
        return floor + mass * project_simplex((v - floor) / mass)
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)
    rho = (u - css / k > 0).sum(axis=1)  # >= 1 always: the largest entry passes
    tau = css[np.arange(len(v)), rho - 1] / rho
    return np.maximum(v - tau[:, None], 0.0)


def concat_batch(x: dict[str, torch.Tensor], modalities: tuple[str, ...]) -> torch.Tensor:
    """Flatten and concatenate a batch's modalities in the fitted order -> (B, total_dim)."""
    return torch.cat([x[m].flatten(1) for m in modalities], dim=1)
