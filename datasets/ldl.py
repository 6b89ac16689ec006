"""Standard label-distribution-learning datasets (PyLDL / Geng's .mat files: ``features``,
``labels``), as ``ldl:<name>`` — e.g. ``ldl:SJAFFE``, ``ldl:Yeast_alpha``."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import register_dataset
from .base import DataError, FeatureSet
from .readers import mat_array, read_mat

REPO_ROOT = Path(__file__).resolve().parents[1]
RENORMALISE_TOL = 1e-3  # label rows off by at most this (rounding in the files) are renormalised


def default_ldl_root() -> Path:
    """``$MIXED_EMOTION_DATA/ldl`` if that variable is set, else ``../shared/data/ldl`` beside
    the repository."""
    env = os.environ.get("MIXED_EMOTION_DATA")
    return Path(env) / "ldl" if env else REPO_ROOT.parent / "shared" / "data" / "ldl"


def _read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    mat = read_mat(path, "an LDL .mat file with variables 'features' (n, d) and 'labels' (n, C)")
    return mat_array(mat, "features", path, ndim=2), mat_array(mat, "labels", path, ndim=2)


def _checked_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    """Renormalise rows whose sum is off by rounding only; anything else is a DataError."""
    if (labels < 0).any() or not np.isfinite(labels).all():
        row = int(np.argmax((labels < 0).any(axis=1) | ~np.isfinite(labels).all(axis=1)))
        raise DataError(f"{path}: field 'labels' row {row} has negative or non-finite entries")
    off = np.abs(labels.sum(axis=1) - 1.0)
    if (off > RENORMALISE_TOL).any():
        row = int(np.argmax(off))
        raise DataError(f"{path}: field 'labels' row {row} sums to {labels[row].sum():.6g}, "
                        f"more than {RENORMALISE_TOL:g} away from 1")
    return labels / labels.sum(axis=1, keepdims=True)


@register_dataset("ldl:", "standard LDL .mat files (features, labels), e.g. ldl:SJAFFE; "
                          "data_root defaults to $MIXED_EMOTION_DATA/ldl or ../shared/data/ldl")
def load_ldl(arg: str, data_root: str | Path | None = None) -> FeatureSet:
    """One standard LDL dataset as a single-modality `FeatureSet`.

    The features form one modality ``features`` (role ``primary``); label columns are named
    ``label_0``, ``label_1``, …; every emotion gets valence +1 because these datasets carry no
    valence (the field is required by the data model and unused by the classical methods).
    Each sample is its own trial of one subject ``"all"`` (there is no subject structure), so
    use the ``kfold`` protocol: ``info["structure"]`` declares both columns placeholders, and a
    protocol that splits by subject or trial refuses the data before any job.
    """
    root = Path(data_root) if data_root is not None else default_ldl_root()
    path = root / f"{arg}.mat"
    if not path.exists():
        have = sorted(p.stem for p in root.glob("*.mat")) if root.exists() else []
        raise FileNotFoundError(
            f"LDL dataset {arg!r} not found: looked for {path}. "
            + (f"Available there: {', '.join(have)}. " if have else "")
            + "Get the .mat files (features, labels) from PyLDL's datasets folder "
              "(github.com/SpriteMisaka/PyLDL) or Geng's LDL page (palm.seu.edu.cn/xgeng/LDL), "
              "put them in that folder, or pass data_root / set MIXED_EMOTION_DATA "
              "(files are read from $MIXED_EMOTION_DATA/ldl).")
    features, labels = _read_mat(path)
    if len(features) != len(labels):
        raise DataError(f"{path}: {len(features)} feature rows but {len(labels)} label rows")
    labels = _checked_labels(labels, path)
    n, c = labels.shape
    meta = pd.DataFrame({"subject": "all", "trial": np.arange(n), "window": 0})
    return FeatureSet(modalities={"features": features}, roles={"features": "primary"},
                      labels=labels, emotions=[f"label_{j}" for j in range(c)],
                      valence=np.ones(c, dtype=int), meta=meta, name=f"ldl:{arg}",
                      info={"path": str(path), "structure": ()})  # subject and trial are placeholders
