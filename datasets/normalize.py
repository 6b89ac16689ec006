"""Per-subject feature normalisation, the protocol option ``normalize``.

Cross-subject physiological emotion recognition usually standardises each subject's features
with statistics of that subject's own windows: a resting heart rate or skin conductance level
differs more between people than between a person's conditions, and under leave-one-subject-out
that offset is what a model meets first. The test subject is standardised with its own windows
too, which needs no label: the statistics are those of its unlabelled recording (transductive
in the features only). Labels, metadata and every other subject's windows are never read, so no
label information can cross between windows or subjects.

``"subject"``: per subject and per feature column, ``(x - mean) / std`` over that subject's
windows (population std; a column constant within the subject becomes 0). ``"none"``: features
as loaded.
"""
from __future__ import annotations

import numpy as np

from .base import DataError, FeatureSet

MODES = ("none", "subject")


def standardise_per_subject(x: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """``x`` (n, ...) standardised column-wise within each subject's rows."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    out = np.empty_like(flat)
    for s in np.unique(subjects):
        rows = subjects == s
        mean = flat[rows].mean(axis=0)
        std = flat[rows].std(axis=0)
        out[rows] = (flat[rows] - mean) / np.where(std > 0, std, 1.0)
    return out.reshape(x.shape)


def normalize_features(data: FeatureSet, mode: str = "none") -> FeatureSet:
    """``data`` with every modality normalised as ``mode`` says; labels and meta unchanged."""
    if mode not in MODES:
        raise DataError(f"normalize={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "none":
        return data
    subjects = data.meta["subject"].to_numpy()
    return FeatureSet(
        modalities={m: standardise_per_subject(x, subjects) for m, x in data.modalities.items()},
        roles=data.roles, labels=data.labels, emotions=data.emotions, valence=data.valence,
        meta=data.meta, name=data.name, info={**data.info, "normalize": mode},
    )
