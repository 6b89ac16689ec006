"""``wesad``: WESAD's synchronised ``SX/SX.pkl`` (chest RespiBAN + wrist E4) and ``SX_quest.csv``.

Modalities (chest, 700 Hz; `datasets.features.wesad`): ``ecg`` 73 heart-rate/HRV features
(primary), ``eda`` 4 and ``emg`` 14 (auxiliary), ``acc`` 12 (behavioural); with ``wrist=True``
also the E4 streams (already synchronised in the pickle): ``wrist_bvp`` 73, ``wrist_eda`` 4,
``wrist_temp`` 6 (auxiliary) and ``wrist_acc`` 12 (behavioural). Windows (60 s, ACC 5 s) every
``shift`` seconds inside each questionnaire condition get that condition's PANAS distribution;
the pickle's 700 Hz label array must agree with the questionnaire's schedule.

The pickles were written by Python 2 and are loaded with a restricted unpickler that rebuilds
only numpy arrays, dtypes and plain containers: a pickle that asks for anything else (e.g.
``os.system``) is rejected with `PickleRejected` before any code runs.
"""
from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.signal import resample_poly

from . import register_dataset
from .base import DataError, FeatureSet
from .readers import read_pickle as read_pickle_file
from .cache import SubjectTask, extract_subjects, resolve_root
from .features import wesad as fw
from .wesad_e4 import SUBJECTS, assemble, find_subjects, window_centres
from .wesad_quest import DEFAULT_LABEL_SET, items_name, parse_quest, resolve_items

FS = 700.0
CHEST = {"ACC": 3, "ECG": 1, "EMG": 1, "EDA": 1, "Temp": 1, "Resp": 1}
WRIST = {"ACC": (32.0, 3), "BVP": (64.0, 1), "EDA": (4.0, 1), "TEMP": (4.0, 1)}
ROLES = {"ecg": "primary", "eda": "auxiliary", "emg": "auxiliary", "acc": "behavioral"}
WRIST_ROLES = {"wrist_bvp": "primary", "wrist_eda": "auxiliary", "wrist_temp": "auxiliary",
               "wrist_acc": "behavioral"}
RECIPE_VERSION = f"wesad-pkl-2+{fw.RECIPE_VERSION}"  # 2: labels left out of the cache
HOW_TO_GET = ("WESAD is at https://archive.ics.uci.edu/dataset/465 (or the Uni Siegen page); "
              "unzip it so that DATA_ROOT/SX/SX.pkl and DATA_ROOT/SX/SX_quest.csv exist.")
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
}


class PickleRejected(DataError):
    """A pickle asked for a global outside the numpy/containers allow-list."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """The only use of ``_codecs.encode`` in numpy pickles: bytes stored as latin-1 text."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise PickleRejected(f"pickle asked for _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


class SafeUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; refuses every other global."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise PickleRejected(f"pickle asks for {module}.{name}, which is not a numpy array or "
                             "plain container; refusing to load it (it could run code)")


def safe_load(path: Path) -> dict:
    """Load a WESAD pickle with `SafeUnpickler`; errors name the file."""
    obj = read_pickle_file(path, SafeUnpickler, "a WESAD SX.pkl (dict with subject/signal/label)",
                      encoding="latin1")
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a dict with keys subject/signal/label, got {type(obj).__name__}")
    return obj


def _field(obj: dict, path: Path, *keys: str):
    cur = obj
    for i, k in enumerate(keys):
        if not isinstance(cur, dict) or k not in cur:
            raise DataError(f"{path}: missing key {'/'.join(keys[: i + 1])!r}")
        cur = cur[k]
    return cur


def _array(obj: dict, path: Path, keys: tuple[str, ...], n: int | None, cols: int) -> np.ndarray:
    x = np.asarray(_field(obj, path, *keys), dtype=np.float64)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] != cols or (n is not None and len(x) != n):
        want = f"({n if n is not None else 'N'}, {cols})"
        raise DataError(f"{path}: {'/'.join(keys)} has shape {x.shape}, expected {want}")
    if not np.isfinite(x).all():
        raise DataError(f"{path}: {'/'.join(keys)} contains NaN or inf")
    return x


def read_pickle(path: Path, wrist: bool) -> tuple[dict, np.ndarray]:
    """Validated chest (and wrist) signals and the 700 Hz label array of one ``SX.pkl``."""
    obj = safe_load(path)
    label = np.asarray(_field(obj, path, "label")).ravel()
    n = len(label)
    signals = {f"chest_{k}": _array(obj, path, ("signal", "chest", k), n, c) for k, c in CHEST.items()}
    if wrist:
        for k, (fs, c) in WRIST.items():
            x = _array(obj, path, ("signal", "wrist", k), None, c)
            if abs(len(x) / fs - n / FS) > 2.0:
                raise DataError(f"{path}: signal/wrist/{k} lasts {len(x) / fs:.0f} s, chest {n / FS:.0f} s")
            signals[f"wrist_{k}"] = x
    if not np.isin(label, np.arange(8)).all():
        raise DataError(f"{path}: label values outside 0..7")
    if not np.isin(label, (1, 2, 3, 4)).any():
        raise DataError(f"{path}: the label array has no condition (all values transient/ignored)")
    return signals, label


def extract_subject(subject_dir: str, shift: float, margin: float, wrist: bool) -> dict:
    """Feature windows and meta of one subject from its pickle and questionnaire (labels are
    built outside the cache, per label construction, by `datasets.wesad_e4.assemble`)."""
    d = Path(subject_dir)
    s = d.name
    conditions = parse_quest(d / f"{s}_quest.csv")
    sig, label = read_pickle(d / f"{s}.pkl", wrist)
    rows = []
    for k, cond in enumerate(conditions):
        seg = label[int(cond.start * FS):int(cond.end * FS)]
        ids, counts = np.unique(seg, return_counts=True)
        if not len(seg) or ids[np.argmax(counts)] != cond.label:
            raise DataError(f"{d / (s + '.pkl')}: label array over {cond.name} ({cond.start:g}-{cond.end:g} s) "
                            f"is mostly {ids[np.argmax(counts)] if len(seg) else 'empty'}, expected {cond.label}")
        c = window_centres(cond.start, cond.end, shift, margin, fw.WINDOW_S)
        rows.append((k, cond, c))
    t = np.concatenate([c for _, _, c in rows])
    out = {
        "ecg": fw.impute_columns(fw.heart_features(sig["chest_ECG"][:, 0], FS, t, kind="ecg")),
        # EDA is slow (< 5 Hz); resampled to 4 Hz (anti-aliased) as neurokit2 needs no more.
        "eda": fw.impute_columns(fw.eda_features(resample_poly(sig["chest_EDA"][:, 0], 1, 175), 4.0, t)),
        "emg": fw.emg_features(sig["chest_EMG"][:, 0], FS, t),
        "acc": fw.acc_features(sig["chest_ACC"], FS, t),
    }
    if wrist:
        out.update({
            "wrist_bvp": fw.impute_columns(fw.heart_features(sig["wrist_BVP"][:, 0], 64.0, t, kind="ppg")),
            "wrist_eda": fw.impute_columns(fw.eda_features(sig["wrist_EDA"][:, 0], 4.0, t)),
            "wrist_temp": fw.temp_features(sig["wrist_TEMP"][:, 0], 4.0, t),
            "wrist_acc": fw.acc_features(sig["wrist_ACC"] / 64.0, 32.0, t),
        })
    out.update({
        "trial": np.concatenate([np.full(len(c), k) for k, _, c in rows]),
        "window": np.concatenate([np.arange(len(c)) for _, _, c in rows]),
        "condition": np.concatenate([np.full(len(c), cond.name) for _, cond, c in rows]),
        "label_id": np.concatenate([np.full(len(c), cond.label) for _, cond, c in rows]),
        "centre_s": t,
    })
    return out


def expected_files(subject_dir: Path) -> list[Path]:
    return [subject_dir / f"{subject_dir.name}_quest.csv", subject_dir / f"{subject_dir.name}.pkl"]


@register_dataset("wesad", "WESAD SX.pkl (chest ECG/EDA/EMG/ACC, optional wrist) + questionnaires")
def load_wesad(data_root: str | None = None, subjects: Sequence[str] | None = None,
               shift: float = 10.0, margin: float = 30.0, wrist: bool = False,
               items: str | Sequence[str] = DEFAULT_LABEL_SET, cache_dir: str | None = None,
               n_jobs: int = 1) -> FeatureSet:
    """Load WESAD from its pickles; options as `datasets.wesad_e4.load_wesad_e4`."""
    root = resolve_root(data_root, "wesad", HOW_TO_GET)
    dirs = find_subjects(root, subjects, expected_files, "wesad", HOW_TO_GET)
    label_items = resolve_items(items)
    options = dict(shift=shift, margin=margin, wrist=wrist)
    tasks = [SubjectTask(d.name, tuple(expected_files(d)), extract_subject,
                         dict(subject_dir=str(d), shift=shift, margin=margin, wrist=wrist))
             for d in dirs]
    parts = extract_subjects("wesad", tasks, RECIPE_VERSION, options, cache_dir=cache_dir, n_jobs=n_jobs)
    roles = {**ROLES, **(WRIST_ROLES if wrist else {})}
    if wrist:  # chest ECG stays primary; the wrist heart features are auxiliary
        roles["wrist_bvp"] = "auxiliary"
    return assemble("wesad", dirs, parts, roles, label_items,
                    {"recipe": RECIPE_VERSION, **options, "items": items_name(items)})


__all__ = ["PickleRejected", "SafeUnpickler", "load_wesad", "safe_load", "SUBJECTS"]
