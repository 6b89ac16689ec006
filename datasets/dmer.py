"""``dmer``: the DMER release (Yang et al., Sci Data 2024), per-subject folders under ``data_root``.

Two layouts are read (docs/datasets.md, DMER):

- ``source="features"`` (default) — the official pipeline's outputs per subject:
  ``datas.mat`` (``dis_label``: 32 × 10, each trial's PANAS scores over their sum, indexed by
  ``vid``) and either ``eegfea.mat`` (``feas`` W × 5 × 18, ``vids``), ``perifea.mat``
  (``feas_gsr`` W' × 28, ``feas_ppg`` W' × 27, ``vids``) and ``videoFea.mat`` (``lbps_all``
  W × 768, ``vids``), or ``feas.mat`` with the 913-column matrix ``feas`` (EEG 90 | GSR 28 |
  PPG 27 | LBP-TOP 768) and ``vids``. As ``PrepareFeatures4Subj.m`` does, the first 4 EEG and
  video windows of every trial are dropped so that each remaining 1 s window has a full 5 s
  peripheral window.
- ``source="signals"`` — the aligned signals of ``datas.mat`` (``eeg_datas`` 19 × T at 300 Hz,
  ``gsr_datas`` 2 × T at 4 Hz, ``ppg_datas`` 2 × T at 100 Hz; the last row is each sample's
  ``vid``) and the face clips ``{vid}.mp4``, run through `datasets.features`.

- ``source="raw"`` — the unaligned per-subject recordings (EDF EEG with triggers, packetised
  ``raw_gsr.csv``/``raw_ppg.csv``, ``camera.csv`` + face video, ``*_panas.csv`` labels),
  parsed and aligned to the trial end by `datasets.dmer_raw` into the same signals, then
  featurised as for ``"signals"``.

Subjects whose GSR/PPG are missing or empty (the release keeps "EEG + video only" subjects), whose
raw PANAS holds an entry outside 1..5, or
whose raw triggers do not pair into exactly 68 events, are excluded and the reason logged.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import dmer_raw, register_dataset
from .base import DataError, FeatureSet
from .readers import read_mat
from .cache import SubjectTask, extract_subjects, resolve_root
from .dmer_raw import SkipSubject
from .features import eeg as feeg
from .features import physio, video
from .synthetic import PANAS10, PANAS10_VALENCE

log = logging.getLogger(__name__)

ROLES = {"eeg": "primary", "gsr": "auxiliary", "ppg": "auxiliary", "video": "behavioral"}
N_TRIALS, DROP = 32, 4
EEG_FS, GSR_FS, PPG_FS = 300.0, 4.0, 100.0
RECIPE_VERSION = f"dmer-1+{feeg.RECIPE_VERSION}+{physio.RECIPE_VERSION}+{video.RECIPE_VERSION}"
HOW_TO_GET = ("DMER (Yang et al., Sci Data 11:847, 2024) is distributed by the authors (see "
              "github.com/ypthu/Multimodal-dataset-for-mixed-emotion-recognition); place one folder "
              "per subject under DATA_ROOT, each with datas.mat and eegfea.mat/perifea.mat/videoFea.mat "
              "(or feas.mat), or datas.mat plus {vid}.mp4 for source='signals', or the raw recordings "
              "(*_raw.edf, raw_gsr.csv, raw_ppg.csv, camera.csv, face .mp4, *_panas.csv) for source='raw'.")


def _loadmat(path: Path) -> dict:
    return read_mat(path, f"a DMER .mat file. {HOW_TO_GET}")


def _get(mat: dict, key: str, path: Path) -> np.ndarray:
    if key not in mat:
        raise DataError(f"{path}: missing variable {key!r}")
    return np.asarray(mat[key])


def read_labels(path: Path) -> np.ndarray:
    """(32, 10) ``dis_label`` rows, checked to be distributions."""
    lab = _get(_loadmat(path), "dis_label", path).astype(np.float64)
    if lab.shape != (N_TRIALS, len(PANAS10)):
        raise DataError(f"{path}: dis_label has shape {lab.shape}, expected ({N_TRIALS}, {len(PANAS10)})")
    bad = (np.abs(lab.sum(axis=1) - 1) > 1e-6) | (lab < 0).any(axis=1)
    if bad.any():
        raise DataError(f"{path}: dis_label row of vid {int(np.argmax(bad))} is not a distribution "
                        f"(sum {lab[np.argmax(bad)].sum():.4g})")
    return lab


def _per_trial(x: np.ndarray, vids: np.ndarray, vid: int, drop: int) -> np.ndarray:
    return x[vids == vid][drop:]


def _from_feature_files(d: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Modality -> (features, vids) of one subject's feature files (before dropping)."""
    if (d / "feas.mat").is_file():
        m = _loadmat(d / "feas.mat")
        feas, vids = _get(m, "feas", d / "feas.mat"), _get(m, "vids", d / "feas.mat").ravel()
        if feas.ndim != 2 or feas.shape[1] != 913:
            raise DataError(f"{d / 'feas.mat'}: feas has shape {feas.shape}, expected (W, 913)")
        eeg = feas[:, :90].reshape(-1, 18, 5)  # per channel, the 5 bands vary fastest
        return {"eeg": (eeg, vids), "gsr": (feas[:, 90:118], vids), "ppg": (feas[:, 118:145], vids),
                "video": (feas[:, 145:], vids), "dropped": (np.array(True), vids)}
    e, p, v = _loadmat(d / "eegfea.mat"), _loadmat(d / "perifea.mat"), _loadmat(d / "videoFea.mat")
    eeg = _get(e, "feas", d / "eegfea.mat")
    if eeg.ndim != 3 or eeg.shape[1:] != (5, 18):
        raise DataError(f"{d / 'eegfea.mat'}: feas has shape {eeg.shape}, expected (W, 5, 18)")
    gsr, ppg = _get(p, "feas_gsr", d / "perifea.mat"), _get(p, "feas_ppg", d / "perifea.mat")
    if gsr.size == 0 or ppg.size == 0:
        raise SkipSubject("empty GSR/PPG features")
    return {"eeg": (eeg.transpose(0, 2, 1), _get(e, "vids", d / "eegfea.mat").ravel()),
            "gsr": (gsr, _get(p, "vids", d / "perifea.mat").ravel()),
            "ppg": (ppg, _get(p, "vids", d / "perifea.mat").ravel()),
            "video": (_get(v, "lbps_all", d / "videoFea.mat"), _get(v, "vids", d / "videoFea.mat").ravel())}


def _signal_rows(mat: dict, key: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    x = _get(mat, key, path).astype(np.float64)
    if x.size == 0:
        raise SkipSubject(f"empty {key}")
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataError(f"{path}: {key} has shape {x.shape}, expected (channels + 1, time)")
    return x[:-1], np.rint(x[-1]).astype(int)


def _from_signals(signals: dict, clip: Callable[[int], np.ndarray], ica: bool,
                  path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Features of aligned ``datas.mat``-shaped ``signals``; ``clip(vid)`` gives a trial's gray frames."""
    eeg, eeg_vid = _signal_rows(signals, "eeg_datas", path)
    gsr, gsr_vid = _signal_rows(signals, "gsr_datas", path)
    ppg, ppg_vid = _signal_rows(signals, "ppg_datas", path)
    clean = feeg.preprocess(eeg, EEG_FS, ica=ica)
    out: dict[str, list] = {k: [] for k in ROLES}
    vids: dict[str, list] = {k: [] for k in ROLES}
    for vid in range(N_TRIALS):
        parts = {"eeg": feeg.differential_entropy(clean[:, eeg_vid == vid], EEG_FS),
                 "gsr": physio.gsr_features(gsr[0, gsr_vid == vid], GSR_FS),
                 "ppg": physio.ppg_features(ppg[0, ppg_vid == vid], PPG_FS)}
        try:
            parts["video"] = video.video_features(clip(vid))
        except ValueError as exc:
            raise DataError(str(exc)) from exc
        for k, x in parts.items():
            out[k].append(x)
            vids[k].append(np.full(len(x), vid))
    return {k: (np.concatenate(out[k]), np.concatenate(vids[k])) for k in ROLES}


def _clip_file(d: Path, vid: int) -> np.ndarray:
    clip = d / f"{vid}.mp4"
    if not clip.is_file():
        raise DataError(f"expected face video {clip}. {HOW_TO_GET}")
    return video.read_gray_frames(str(clip))


def _source_features(d: Path, source: str, ica: bool) -> tuple[np.ndarray, dict]:
    """(32 × 10 labels, modality -> (features, vids)) of one subject from ``source``."""
    if source == "raw":
        raw = dmer_raw.load_subject(d)
        signals = {k: getattr(raw, k) for k in ("eeg_datas", "gsr_datas", "ppg_datas")}
        return raw.labels, _from_signals(signals, lambda vid: video.read_gray_frames(str(raw.video), *raw.frames[vid]),
                                         ica, raw.video.parent)
    labels = read_labels(d / "datas.mat")
    if source == "features":
        return labels, _from_feature_files(d)
    return labels, _from_signals(_loadmat(d / "datas.mat"), lambda vid: _clip_file(d, vid), ica, d / "datas.mat")


def extract_subject(subject_dir: str, source: str, ica: bool) -> dict:
    """Aligned windows of one subject; a ``skipped`` entry carries the reason instead."""
    d = Path(subject_dir)
    try:
        labels, feats = _source_features(d, source, ica)
    except SkipSubject as exc:
        return {"skipped": np.array(str(exc))}
    predropped = "dropped" in feats
    rows: dict[str, list] = {k: [] for k in ROLES}
    trial, window = [], []
    for vid in range(N_TRIALS):
        per = {k: _per_trial(x, v, vid, 0 if predropped or k in ("gsr", "ppg") else DROP)
               for k, (x, v) in feats.items() if k in ROLES}
        n = min(len(x) for x in per.values())
        for k, x in per.items():
            rows[k].append(x[:n])
        trial.append(np.full(n, vid))
        window.append(np.arange(n))
    t = np.concatenate(trial)
    if not len(t):
        raise DataError(f"{d}: no aligned windows in any trial")
    return {**{k: np.concatenate(v) for k, v in rows.items()}, "labels": labels[t],
            "trial": t, "window": np.concatenate(window)}


def subject_files(d: Path, source: str) -> list[Path]:
    if source == "raw":
        return [p for p in dmer_raw.locate(d).values() if p is not None]
    if source == "signals":
        return [d / "datas.mat"] + [d / f"{v}.mp4" for v in range(N_TRIALS)]
    if (d / "feas.mat").is_file():
        return [d / "datas.mat", d / "feas.mat"]
    return [d / n for n in ("datas.mat", "eegfea.mat", "perifea.mat", "videoFea.mat")]


@register_dataset("dmer", "DMER release: EEG DE 18×5, GSR 28, PPG 27, LBP-TOP 768 per 1 s window")
def load_dmer(data_root: str | None = None, subjects: Sequence[str] | None = None,
              source: str = "features", ica: bool = False, cache_dir: str | None = None,
              n_jobs: int = 1) -> FeatureSet:
    """Load DMER from ``data_root`` (one folder per subject: ``datas.mat``, or the raw files for ``source="raw"``)."""
    if source not in ("features", "signals", "raw"):
        raise ValueError(f"source must be 'features', 'signals' or 'raw', got {source!r}")
    root = resolve_root(data_root, "dmer", HOW_TO_GET)
    marker = "*_panas.csv" if source == "raw" else "datas.mat"
    dirs = sorted((p for p in root.iterdir() if p.is_dir() and next(p.rglob(marker), None)),
                  key=lambda p: (len(p.name), p.name)) if root.is_dir() else []
    if subjects:
        dirs = [root / s for s in subjects]
    if not dirs:
        raise DataError(f"dmer: no subject folder with {marker} under {root}. {HOW_TO_GET}")
    missing = [str(p) for d in dirs for p in subject_files(d, source) if not p.is_file()]
    if missing:
        raise DataError(f"dmer: {len(missing)} expected file(s) missing, e.g. {', '.join(missing[:4])}. {HOW_TO_GET}")
    tasks = [SubjectTask(d.name, tuple(subject_files(d, source)), extract_subject,
                         dict(subject_dir=str(d), source=source, ica=ica)) for d in dirs]
    parts = extract_subjects("dmer", tasks, RECIPE_VERSION, {"source": source, "ica": ica},
                             cache_dir=cache_dir, n_jobs=n_jobs)
    kept = []
    for d in dirs:
        if "skipped" in parts[d.name]:
            log.warning("dmer: subject %s excluded: %s", d.name, parts[d.name]["skipped"])
        else:
            kept.append(d.name)
    if not kept:
        raise DataError(f"dmer: every subject under {root} was excluded: "
                        + "; ".join(f"{d.name}: {parts[d.name]['skipped']}" for d in dirs))
    cat = {k: np.concatenate([parts[s][k] for s in kept]) for k in (*ROLES, "labels", "trial", "window")}
    meta = pd.DataFrame({"subject": np.concatenate([np.full(len(parts[s]["trial"]), s) for s in kept]),
                         "trial": cat["trial"], "window": cat["window"]})
    meta["clip_type"] = np.select([meta.trial < 8, meta.trial < 16], ["positive", "negative"], "mixed")
    meta["stimulus"] = meta["trial"]  # the clip's vid: every subject watched the same 32 clips
    excluded = {d.name: str(parts[d.name]["skipped"]) for d in dirs if d.name not in kept}
    return FeatureSet(modalities={k: cat[k] for k in ROLES}, roles=ROLES, labels=cat["labels"],
                      emotions=PANAS10, valence=np.array(PANAS10_VALENCE), meta=meta, name="dmer",
                      info={"recipe": RECIPE_VERSION, "source": source, "excluded": excluded})
