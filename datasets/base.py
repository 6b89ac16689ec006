"""The one data container every loader, protocol and method shares.

A `FeatureSet` holds windows (samples) of multimodal features, their target emotion
distributions and the metadata protocols split on. It is immutable in spirit (arrays are
made read-only) and validated on construction, so a method never receives broken data and a
loader's mistake is reported where it happened, naming the subject, trial and field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import DataError  # the suite's error family (core/errors.py); imported from here too

ROLES = ("primary", "auxiliary", "behavioral")
SIMPLEX_TOL = 1e-6
META_COLUMNS = ("subject", "trial", "window")
# The meta columns a method may read at ``predict``: the declared allow-list, in this one place.
# ``subject`` only: who is being recognised is known when a model is deployed (the deep methods'
# subject codes and subject-dependent models read it). Every other column is withheld
# (`FeatureSet.for_predict`): ``trial`` and ``stimulus`` name the stimulus (DMER's trial id
# is its clip, shared by every subject), ``condition``/``clip_type``/``label_id`` the condition
# and so the label, ``window``/``centre_s`` the position in a trial. A column a loader adds is
# withheld too unless it is listed here. The one exception is a reference marked
# ``oracle = True`` (methods.base.BaseMethod), which by design reads the stimulus.
PREDICT_META = ("subject",)


def _where(meta: pd.DataFrame, row: int) -> str:
    r = meta.iloc[row]
    named = ", ".join(f"{c} {r[c]}" for c in META_COLUMNS if c in meta.columns)
    return f"{named} (row {row})"


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """Samples × modalities, distribution labels and metadata.

    Parameters
    ----------
    modalities : dict name -> float32 array (n, ...)
    roles : dict name -> 'primary' | 'auxiliary' | 'behavioral'
    labels : (n, C) array, rows on the probability simplex; ``None`` for data handed to
        ``predict`` (`unlabelled`), so no method can read the labels it predicts
    emotions : the C item names
    valence : +1 / -1 per emotion
    meta : DataFrame with columns subject, trial, window (one row per sample); data prepared for
        ``predict`` (`for_predict`) carries only the columns of `PREDICT_META`
    name : dataset name, recorded in results
    """

    modalities: Mapping[str, np.ndarray]
    roles: Mapping[str, str]
    labels: np.ndarray
    emotions: Sequence[str]
    valence: np.ndarray
    meta: pd.DataFrame
    name: str = "unnamed"
    info: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mods = {k: np.asarray(v, dtype=np.float32) for k, v in self.modalities.items()}
        labels = None if self.labels is None else np.asarray(self.labels, dtype=np.float64)
        meta = self.meta.reset_index(drop=True)
        object.__setattr__(self, "modalities", mods)
        object.__setattr__(self, "roles", dict(self.roles))
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "emotions", tuple(self.emotions))
        object.__setattr__(self, "valence", np.asarray(self.valence, dtype=np.int8))
        object.__setattr__(self, "meta", meta)
        self._validate()
        for arr in (*mods.values(), self.valence, *([] if labels is None else [labels])):
            arr.setflags(write=False)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        meta, labels, n = self.meta, self.labels, len(self.meta)
        # Unlabelled data may be the predict view, whose meta is cut to PREDICT_META.
        required = META_COLUMNS if labels is not None else PREDICT_META
        missing = [c for c in required if c not in meta.columns]
        if missing:
            raise DataError(f"{self.name}: meta lacks column(s) {missing}")
        if not self.modalities:
            raise DataError(f"{self.name}: no modalities")
        if set(self.modalities) != set(self.roles):
            raise DataError(
                f"{self.name}: roles {sorted(self.roles)} do not match modalities "
                f"{sorted(self.modalities)}"
            )
        for m, role in self.roles.items():
            if role not in ROLES:
                raise DataError(f"{self.name}: modality {m!r} has unknown role {role!r}; known: {ROLES}")
        if labels is not None and (labels.ndim != 2 or labels.shape[0] != n):
            raise DataError(f"{self.name}: field 'labels' has shape {labels.shape}, expected ({n}, C)")
        c = len(self.emotions) if labels is None else labels.shape[1]
        if len(self.emotions) != c:
            raise DataError(f"{self.name}: {len(self.emotions)} emotion names for {c} label columns")
        if self.valence.shape != (c,) or not np.isin(self.valence, (-1, 1)).all():
            raise DataError(f"{self.name}: field 'valence' must be {c} values of +1/-1")
        for m, x in self.modalities.items():
            if x.shape[0] != n:
                raise DataError(f"{self.name}: modality {m!r} has {x.shape[0]} rows, meta has {n}")
            bad = ~np.isfinite(x.reshape(n, -1)).all(axis=1)
            if bad.any():
                raise DataError(f"{self.name}: modality {m!r} has NaN/inf at {_where(meta, int(np.argmax(bad)))}")
        if labels is None:
            return
        bad = ~np.isfinite(labels).all(axis=1) | (labels < 0).any(axis=1)
        bad |= np.abs(labels.sum(axis=1) - 1.0) > SIMPLEX_TOL
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{self.name}: field 'labels' is not a distribution at {_where(meta, i)}: "
                f"{np.array2string(labels[i], precision=4)} (sum {labels[i].sum():.6g})"
            )

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.meta)

    @property
    def n_emotions(self) -> int:
        return len(self.emotions)

    @property
    def subjects(self) -> np.ndarray:
        return self.meta["subject"].to_numpy()

    def modality_of_role(self, role: str) -> list[str]:
        """Names of the modalities with this role, in insertion order."""
        return [m for m, r in self.roles.items() if r == role]

    def subset(self, idx: np.ndarray) -> "FeatureSet":
        """The samples at ``idx`` (integer indices), everything else unchanged."""
        idx = np.asarray(idx)
        return FeatureSet(
            modalities={m: x[idx] for m, x in self.modalities.items()},
            roles=self.roles, labels=None if self.labels is None else self.labels[idx],
            emotions=self.emotions,
            valence=self.valence, meta=self.meta.iloc[idx], name=self.name, info=self.info,
        )

    def unlabelled(self) -> "FeatureSet":
        """The same samples without their labels: what ``predict`` receives, so a method cannot
        read (or be suspected of reading) the labels it is scored against."""
        return FeatureSet(modalities=self.modalities, roles=self.roles, labels=None,
                          emotions=self.emotions, valence=self.valence, meta=self.meta,
                          name=self.name, info=self.info)

    def for_predict(self) -> "FeatureSet":
        """What ``predict`` receives: the same samples and features, without labels and with
        only the meta columns a method may read (`PREDICT_META`). The runner and the tuner
        hand every method this view, except a reference marked ``oracle = True``, which gets
        `unlabelled` (all meta, no labels)."""
        return FeatureSet(modalities=self.modalities, roles=self.roles, labels=None,
                          emotions=self.emotions, valence=self.valence,
                          meta=self.meta.loc[:, list(PREDICT_META)], name=self.name, info=self.info)

    def merged(self, other: "FeatureSet | None") -> "FeatureSet":
        """These samples followed by ``other``'s (same modalities, roles and emotions), e.g. a
        fold's training and validation parts as one training set; ``self`` when ``other`` is
        None or empty."""
        if other is None or not len(other):
            return self
        if (tuple(other.modalities) != tuple(self.modalities) or other.emotions != self.emotions
                or (other.labels is None) != (self.labels is None)):
            raise DataError(f"{self.name}: cannot merge data with other modalities, emotions or labelling")
        return FeatureSet(
            modalities={m: np.concatenate([x, other.modalities[m]]) for m, x in self.modalities.items()},
            roles=self.roles,
            labels=None if self.labels is None else np.concatenate([self.labels, other.labels]),
            emotions=self.emotions, valence=self.valence,
            meta=pd.concat([self.meta, other.meta], ignore_index=True), name=self.name, info=self.info,
        )

    def without(self, modality: str) -> "FeatureSet":
        """The same samples without one modality.

        Roles are re-assigned as MPCL's modality ablation prescribes: without the primary
        modality the first auxiliary becomes primary.
        """
        if modality not in self.modalities:
            raise DataError(f"{self.name}: no modality {modality!r}; has {sorted(self.modalities)}")
        if len(self.modalities) == 1:
            raise DataError(f"{self.name}: cannot drop the only modality {modality!r}")
        roles = {m: r for m, r in self.roles.items() if m != modality}
        if self.roles[modality] == "primary":
            promoted = next((m for m, r in roles.items() if r == "auxiliary"), next(iter(roles)))
            roles[promoted] = "primary"
        return FeatureSet(
            modalities={m: x for m, x in self.modalities.items() if m != modality},
            roles=roles, labels=self.labels, emotions=self.emotions, valence=self.valence,
            meta=self.meta, name=self.name, info=self.info,
        )

    def concat_features(self) -> np.ndarray:
        """All modalities flattened and concatenated, (n, total_dim) float32."""
        n = len(self)
        return np.concatenate([x.reshape(n, -1) for x in self.modalities.values()], axis=1)
