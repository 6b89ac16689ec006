"""``wesad-e4``: WESAD from the wrist device's raw CSVs (``SX/SX_E4_Data/``) and ``SX_quest.csv``.

Modalities (features per window, `datasets.features.wesad`): ``bvp`` 73 heart-rate/HRV
features from the 64 Hz BVP (primary); ``eda`` 4 (4 Hz) and ``temp`` 6 (4 Hz) (auxiliary);
``acc`` 12 from the 32 Hz accelerometer (behavioural). Samples are windows (60 s, ACC 5 s,
sharing their centre) every ``shift`` seconds inside each of the five conditions; each window's
label is its condition's PANAS distribution over the ``items`` of the chosen label construction
(`datasets.wesad_quest`: ``dmer9``, ``panas24``, ``all26`` or a list). The meta column
``stimulus`` is the condition (read only by the stimulus oracle).

Labels are built from the questionnaire at every load, outside the per-subject feature cache, so
switching the label construction never re-extracts features.

Alignment (docs/datasets.md). The questionnaire's START/END count from the *chest* device's start;
each E4 file starts at its own time, and the readme says the devices were synchronised by hand
from a double tap. Without the chest recording that tap cannot be matched, and in the wrist ACC
alone it is not distinguishable from other tap-like events. What the data do fix is the end: the
E4 recordings are 18-31 min longer than the protocol because the wrist device was started early
and stopped together with the chest device shortly after the last condition. So the offset is
*end-anchored*, derived per subject from the data::

    offset = E4 duration - (last END in SX_quest.csv) - end_lag

with ``end_lag`` (default 60 s) the time between the protocol's last END and stopping the
devices. (For S2 this gives 1794 s; WESAD's own synchronised ``S2.pkl`` wrist streams, 6079 s
long against the 7874 s E4 file, imply 1795 s.) ``offsets`` overrides the estimate per subject.
The offsets used are in ``FeatureSet.info['alignment']``. ``margin`` drops windows that reach
within that many seconds of a condition's boundary, absorbing residual alignment error.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import register_dataset
from .base import DataError, FeatureSet
from core.params import Int, Real
from .readers import read_csv
from .cache import SubjectTask, extract_subjects, resolve_root
from .features import wesad as fw
from .wesad_quest import (DEFAULT_LABEL_SET, condition_distribution, item_valence, items_name,
                          parse_quest, resolve_items)

log = logging.getLogger(__name__)

SUBJECTS = tuple(f"S{i}" for i in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17))
E4_FILES = {"BVP": 64.0, "EDA": 4.0, "TEMP": 4.0, "ACC": 32.0}
ROLES = {"bvp": "primary", "eda": "auxiliary", "temp": "auxiliary", "acc": "behavioral"}
RECIPE_VERSION = f"wesad-e4-2+{fw.RECIPE_VERSION}"  # 2: labels left out of the cache
HOW_TO_GET = ("WESAD is at https://archive.ics.uci.edu/dataset/465 (or the Uni Siegen page); "
              "unzip it and each SX/SX_E4_Data.zip so that DATA_ROOT/SX/SX_quest.csv and "
              "DATA_ROOT/SX/SX_E4_Data/{ACC,BVP,EDA,TEMP}.csv exist.")


def expected_files(subject_dir: Path) -> list[Path]:
    s = subject_dir.name
    return [subject_dir / f"{s}_quest.csv"] + [subject_dir / f"{s}_E4_Data" / f"{m}.csv" for m in E4_FILES]


def read_e4_csv(path: Path, fs: float | None = None) -> tuple[float, float, np.ndarray]:
    """(start unix time, sampling rate, data (n, channels)) of one E4 CSV."""
    arr = read_csv(path, "an E4 CSV: start time, sampling rate, then numeric rows",
                   header=None, dtype=np.float64).to_numpy()
    if arr.ndim != 2 or len(arr) < 3 or not np.isfinite(arr[:2, 0]).all():
        raise DataError(f"{path}: expected a start-time row, a sampling-rate row and data rows")
    start, rate, data = float(arr[0, 0]), float(arr[1, 0]), arr[2:]
    if fs is not None and abs(rate - fs) > 1e-6:
        raise DataError(f"{path}: sampling rate {rate:g} Hz, expected {fs:g} Hz")
    if not np.isfinite(data).all():
        raise DataError(f"{path}: data contain NaN or non-numeric values")
    return start, rate, data


def window_centres(start: float, end: float, shift: float, margin: float, window_s: float) -> np.ndarray:
    """Centres (s) of windows lying within [start + margin, end - margin]."""
    first, last = start + margin + window_s / 2, end - margin - window_s / 2
    if last < first:
        return np.empty(0)
    return first + shift * np.arange(int(np.floor((last - first) / shift + 1e-9)) + 1)


def end_anchored_offset(duration: float, protocol_end: float, end_lag: float) -> float:
    """Seconds of wrist recording before the chest device started (see module docstring)."""
    return duration - protocol_end - end_lag


def extract_subject(subject_dir: str, shift: float, margin: float, end_lag: float,
                    offset: float | None) -> dict:
    """Feature windows and meta of one subject (cached by `datasets.cache`); no labels,
    which `assemble` builds from the questionnaire per label construction."""
    subject_dir = Path(subject_dir)
    s = subject_dir.name
    conditions = parse_quest(subject_dir / f"{s}_quest.csv")
    signals = {m.lower(): read_e4_csv(subject_dir / f"{s}_E4_Data" / f"{m}.csv", fs) for m, fs in E4_FILES.items()}
    duration = min(len(d) / fs for _, fs, d in signals.values())
    starts = {round(t0) for t0, _, _ in signals.values()}
    if len(starts) > 1:
        raise DataError(f"{subject_dir}: E4 files start at different times {sorted(starts)}")
    protocol_end = max(c.end for c in conditions)
    off = end_anchored_offset(duration, protocol_end, end_lag) if offset is None else float(offset)
    if off < 0 or protocol_end + off > duration:
        shortest = min(signals, key=lambda m: len(signals[m][2]) / signals[m][1])
        raise DataError(f"{subject_dir}: alignment offset {off:.0f} s puts the protocol "
                        f"(0-{protocol_end:.0f} s) outside the {duration:.0f} s E4 recording "
                        f"(shortest file: {subject_dir / f'{s}_E4_Data' / f'{shortest.upper()}.csv'}, "
                        "truncated?)")
    rows, centres = [], []
    for k, cond in enumerate(conditions):
        c = window_centres(cond.start + off, cond.end + off, shift, margin, fw.WINDOW_S)
        if not len(c):
            raise DataError(f"{subject_dir}: condition {cond.name} has no window of {fw.WINDOW_S:g} s "
                            f"after a {margin:g} s margin")
        centres.append(c)
        rows.append((k, cond, len(c)))
    t = np.concatenate(centres)
    bvp_d, eda_d, temp_d, acc_d = (signals[m][2] for m in ("bvp", "eda", "temp", "acc"))
    return {
        "bvp": fw.impute_columns(fw.heart_features(bvp_d[:, 0], 64.0, t, kind="ppg")),
        "eda": fw.impute_columns(fw.eda_features(eda_d[:, 0], 4.0, t)),
        "temp": fw.temp_features(temp_d[:, 0], 4.0, t),
        "acc": fw.acc_features(acc_d / 64.0, 32.0, t),
        "trial": np.concatenate([np.full(n, k) for k, _, n in rows]),
        "window": np.concatenate([np.arange(n) for _, _, n in rows]),
        "condition": np.concatenate([np.full(n, cond.name) for _, cond, n in rows]),
        "label_id": np.concatenate([np.full(n, cond.label) for _, cond, n in rows]),
        "centre_s": t - off,
        "offset_s": np.array(off),
    }


def find_subjects(root: Path, subjects: Sequence[str] | None, files: callable, dataset: str,
                  how_to_get: str) -> list[Path]:
    """Subject folders under ``root``; a clear error lists what is missing and where."""
    wanted = list(subjects) if subjects else [s for s in SUBJECTS if (root / s).is_dir()]
    if not wanted:
        raise DataError(f"{dataset}: no subject folders (S2 ... S17) in {root}. {how_to_get}")
    dirs = [root / s for s in wanted]
    missing = [str(p) for d in dirs for p in files(d) if not p.is_file()]
    if missing:
        raise DataError(f"{dataset}: {len(missing)} expected file(s) missing under {root}, e.g. "
                        f"{', '.join(missing[:4])}. {how_to_get}")
    return dirs


def subject_labels(subject_dir: Path, trial: np.ndarray, items: Sequence[str]) -> np.ndarray:
    """Each window's label: the PANAS distribution over ``items`` of its condition (``trial`` is
    the condition's position in the protocol, as `parse_quest` orders them)."""
    conditions = parse_quest(subject_dir / f"{subject_dir.name}_quest.csv")
    table = np.stack([condition_distribution(c, items, str(subject_dir)) for c in conditions])
    return table[np.asarray(trial, dtype=int)]


def assemble(name: str, dirs: Sequence[Path], parts: dict, roles: dict, items: Sequence[str],
             info: dict) -> FeatureSet:
    """One FeatureSet from per-subject feature dicts (the keys of ``roles`` are modalities) and
    the labels over ``items`` read from each subject's questionnaire."""
    subjects = [d.name for d in dirs]
    cat = {k: np.concatenate([parts[s][k] for s in subjects]) for k in roles}
    labels = np.concatenate([subject_labels(d, parts[d.name]["trial"], items) for d in dirs])
    meta = pd.DataFrame({
        "subject": np.concatenate([np.full(len(parts[s]["trial"]), s) for s in subjects]),
        **{k: np.concatenate([parts[s][k] for s in subjects])
           for k in ("trial", "window", "condition", "label_id", "centre_s")},
    })
    meta["stimulus"] = meta["condition"]
    return FeatureSet(modalities={m: cat[m] for m in roles}, roles=roles, labels=labels,
                      emotions=tuple(items), valence=item_valence(items), meta=meta, name=name, info=info)


@register_dataset("wesad-e4", "WESAD wrist (E4) CSVs + questionnaires: BVP/HRV, EDA, TEMP, ACC windows",
                  constraints={"shift": Real(low=0, low_open=True), "margin": Real(low=0),
                               "end_lag": Real(low=0), "n_jobs": Int(low=1)})
def load_wesad_e4(data_root: str | None = None, subjects: Sequence[str] | None = None,
                  shift: float = 10.0, margin: float = 30.0, end_lag: float = 60.0,
                  offsets: dict | None = None, items: str | Sequence[str] = DEFAULT_LABEL_SET,
                  cache_dir: str | None = None, n_jobs: int = 1) -> FeatureSet:
    """Load WESAD's wrist release.

    Parameters
    ----------
    data_root : folder holding ``SX/`` (or its ``wesad_e4``/``wesad-e4`` subfolder); default
        ``$MIXED_EMOTION_DATA``.
    subjects : subset of S2..S17 (default: every subject folder present).
    shift : seconds between window centres (the WESAD paper: 0.25).
    margin : seconds dropped at both ends of every condition.
    end_lag : seconds between the last condition's END and the devices' stop (alignment).
    offsets : per-subject alignment offsets (s) overriding the end-anchored estimate.
    items : label construction: ``dmer9`` (default), ``panas24``, ``all26`` (see
        `datasets.wesad_quest`) or a list of PANAS items.
    cache_dir, n_jobs : feature cache folder and parallel subjects.
    """
    root = resolve_root(data_root, "wesad_e4", HOW_TO_GET)
    dirs = find_subjects(root, subjects, expected_files, "wesad-e4", HOW_TO_GET)
    offsets = dict(offsets or {})
    label_items = resolve_items(items)
    options = dict(shift=shift, margin=margin, end_lag=end_lag)
    tasks = [SubjectTask(d.name, tuple(expected_files(d)), extract_subject,
                         dict(subject_dir=str(d), shift=shift, margin=margin, end_lag=end_lag,
                              offset=offsets.get(d.name)))
             for d in dirs]
    parts = extract_subjects("wesad-e4", tasks, RECIPE_VERSION,
                             {**options, "offset": {d.name: offsets.get(d.name) for d in dirs}},
                             cache_dir=cache_dir, n_jobs=n_jobs)
    names = [d.name for d in dirs]
    alignment = {s: float(parts[s]["offset_s"]) for s in names}
    log.info("wesad-e4 alignment offsets (s): %s", alignment)
    info = {"alignment": alignment, "recipe": RECIPE_VERSION, "root": os.fspath(root), **options,
            "items": items_name(items)}
    return assemble("wesad-e4", dirs, parts, ROLES, label_items, info)
