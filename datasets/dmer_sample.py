"""``dmer-sample``: the one-subject DMER-derived feature file ``data_feature_sample.mat``.

Published with EmotionDict (shinyfang/EmotionDict, MIT; data under DMER's terms): 875 one-second
windows of one subject, already split 696 train / 179 test. Features are a reduced set: EEG
18 channels × 4 bands (log2 DE, θ-γ), GSR and PPG 1 × 4, and a 32-d video embedding. Labels are
the 10 PANAS scores divided by their sum.

The file has no trial ids. Windows of one trial share their label row, so ``trial`` numbers the
distinct label rows: trials rated identically share an id (the sample's 32 trials give 22
distinct rows), which only coarsens trial-grouped splits.
The file's own split is kept in the meta column ``split`` ('train'/'test').
The stimulus identity (meta ``stimulus``, read only by the stimulus oracle) is that label-row id:
for one subject, one clip has one rating, so windows sharing a row are those the clip-id oracle
would pool (identically rated clips pooled together predict the same row either way).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import register_dataset
from .base import DataError, FeatureSet
from .readers import read_mat
from .cache import resolve_root
from .synthetic import PANAS10, PANAS10_VALENCE

FILE = "data_feature_sample.mat"
MODALITIES = {"eeg": "primary", "gsr": "auxiliary", "ppg": "auxiliary", "video": "behavioral"}
HOW_TO_GET = (f"Download {FILE} from https://github.com/shinyfang/EmotionDict (data/{FILE}) "
              "and pass its folder as --data-root.")


def _read(path: Path) -> dict:
    return read_mat(path, f"EmotionDict's feature sample. {HOW_TO_GET}")


@register_dataset("dmer-sample", "one DMER subject's reduced features (EmotionDict sample file)")
def load_dmer_sample(data_root: str | None = None, n_jobs: int = 1) -> FeatureSet:
    """Load ``data_feature_sample.mat`` from ``data_root`` (or ``$MIXED_EMOTION_DATA``).

    ``n_jobs`` is accepted so that ``benchmark prepare`` treats every real dataset alike; one
    file of ready features has nothing to extract in parallel.
    """
    root = resolve_root(data_root, "dmer_sample", HOW_TO_GET)
    path = root / FILE if root.is_dir() else root
    if not path.is_file():
        raise DataError(f"dmer-sample: expected {path}. {HOW_TO_GET}")
    mat = _read(path)
    keys = [f"{part}_{m}" for part in ("train", "test") for m in (*MODALITIES, "label")]
    missing = [k for k in keys if k not in mat]
    if missing:
        raise DataError(f"{path}: missing variable(s) {missing}")
    parts = []
    for part in ("train", "test"):
        n = len(mat[f"{part}_label"])
        parts.append(({m: mat[f"{part}_{m}"] for m in MODALITIES}, mat[f"{part}_label"], [part] * n))
    mods = {m: np.concatenate([p[0][m] for p in parts]) for m in MODALITIES}
    labels = np.concatenate([p[1] for p in parts]).astype(np.float64)
    _, trial = np.unique(np.round(labels, 9), axis=0, return_inverse=True)
    trial = trial.ravel()
    window = pd.Series(trial).groupby(trial).cumcount().to_numpy()
    meta = pd.DataFrame({"subject": "dmer-sample", "trial": trial, "window": window,
                         "split": np.concatenate([p[2] for p in parts]), "stimulus": trial})
    return FeatureSet(modalities=mods, roles=MODALITIES, labels=labels, emotions=PANAS10,
                      valence=np.array(PANAS10_VALENCE), meta=meta, name="dmer-sample",
                      info={"source": str(path)})
