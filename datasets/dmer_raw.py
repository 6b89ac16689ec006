"""The raw DMER recordings of one subject, aligned as the official ``Format_Data.m`` +
``Format_video.py`` + ``AlignAllData.py`` do (docs/datasets.md, DMER).

Files, searched anywhere under the subject folder: ``*_raw.edf`` (DSI-24 EEG, 300 Hz, 25
signals, signal 25 = trigger), ``raw_gsr.csv`` (4 Hz) and ``raw_ppg.csv`` (100 Hz) (columns:
packet timestamp, value, trigger code), ``camera.csv`` (vid, marker, unix ms), the face video
(``*_new.mp4`` if present, else the one other ``.mp4``) and ``*_panas.csv`` (vid + 10 items).

Pure parsing/alignment functions take arrays or DataFrames; the ``read_*`` functions only do
I/O. The result, `RawSubject`, carries the ``datas.mat``-shaped signals (channels + a
last row of per-sample ``vid``; rest 40 first, then trials 0-31 in vid order), the frame range
of each trial in the face video and the PANAS label distributions.

Choices where the official code is silent or fragile:

- Trigger events are onsets (a sample > 0 that differs from the previous sample). The official
  code takes every sample > 0, which is the same for one-sample pulses.
- A GSR/PPG row without a value is a pure marker row: its code moves to the next sample. Rows
  with a value are samples, marker or not (as ``csvread`` would read them).
- EEG is the 18 channels of ``PreprocessEEG.m`` from the raw EDF; the official pipeline uses
  the ICA-cleaned EEGLAB set instead (ICA is optional in `datasets.features.eeg.preprocess`).
- ``L`` is floor of the shortest of EEG, GSR, PPG and video durations; the official code also
  includes the device-computed ``fea_*`` streams, which the benchmark does not use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .base import DataError
from .readers import read_csv, read_edf

EEG_FS, GSR_FS, PPG_FS, FPS = 300, 4, 100, 30
EEG_CHANNELS = ("P3", "C3", "F3", "Fz", "F4", "C4", "P4", "Cz", "Fp1", "Fp2",
                "T3", "T5", "O1", "O2", "F7", "F8", "T6", "T4")
TRIGGER_INDEX = 24  # signal 25 of the DSI-24 EDF
N_TRIALS, N_TRIGGERS, N_ITEMS = 32, 68, 10
PRACTICE, REST = 50, 40  # vids of the practice clip (triggers 60/150) and the rest (50/140)
START, END = 10, 100  # start trigger = vid + 10, end trigger = vid + 100


class SkipSubject(Exception):
    """A subject the release keeps but the benchmark cannot use (reason in the message)."""


class InvalidRating(DataError):
    """A PANAS entry outside 1..5 (the recording script stores unparsable input as 0): the
    official pipeline drops such subjects, so :func:`load_subject` excludes the subject
    (naming file, line and item) instead of failing the whole dataset."""


@dataclass
class RawSubject:
    """One subject's aligned recordings (``datas.mat`` layout) and face-video frame ranges."""

    eeg_datas: np.ndarray  # (18 + 1, T) at 300 Hz, last row = vid
    gsr_datas: np.ndarray  # (1 + 1, T) at 4 Hz
    ppg_datas: np.ndarray  # (1 + 1, T) at 100 Hz
    frames: dict[int, tuple[int, int]]  # vid -> (first frame, frame count) in ``video``
    labels: np.ndarray  # (32, 10) PANAS / row sum, indexed by vid
    video: Path


# ------------------------------------------------------------------ pure parsing
def trigger_events(trigger: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sample positions, codes) of trigger onsets in a per-sample trigger channel (0 = none)."""
    trg = np.rint(np.nan_to_num(np.asarray(trigger, dtype=np.float64))).astype(np.int64)
    prev = np.concatenate([[0], trg[:-1]])
    pos = np.flatnonzero((trg > 0) & (trg != prev))
    return pos, trg[pos]


def trial_bounds(pos: np.ndarray, codes: np.ndarray, source: str) -> dict[int, tuple[int, int]]:
    """vid -> (start sample, end sample) of rest (40) and trials 0-31, as ``Format_Data.m`` pairs them.

    From the first practice start (60) on, consecutive events whose codes differ by 90 form a
    (start, end) pair; exactly 68 paired events (practice, rest, 32 trials) are required, else
    the subject is invalid (`SkipSubject`).
    """
    first = np.flatnonzero(codes == PRACTICE + START)
    if not len(first):
        raise SkipSubject(f"{source}: no practice start trigger {PRACTICE + START}")
    pairs = [(i, i + 1) for i in range(first[0], len(codes) - 1) if codes[i + 1] - codes[i] == END - START]
    if 2 * len(pairs) != N_TRIGGERS:
        raise SkipSubject(f"{source}: {2 * len(pairs)} paired triggers, expected {N_TRIGGERS}")
    out = {}
    for i, j in pairs:
        vid = int(codes[i]) - START
        if vid in out:
            raise SkipSubject(f"{source}: trigger pair of vid {vid} occurs twice")
        out[vid] = (int(pos[i]), int(pos[j]))
    missing = sorted({REST, *range(N_TRIALS)} - set(out))
    if missing:
        raise SkipSubject(f"{source}: no trigger pair for vid(s) {missing}")
    return {v: out[v] for v in (REST, *range(N_TRIALS))}


def parse_packet_csv(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(values, per-sample trigger codes) of a ``raw_gsr.csv``/``raw_ppg.csv`` table (3 columns)."""
    if table.shape[1] < 3:
        raise ValueError(f"expected 3 columns (timestamp, value, trigger), got {table.shape[1]}")
    value = pd.to_numeric(table.iloc[:, 1], errors="coerce").to_numpy(np.float64)
    code = pd.to_numeric(table.iloc[:, 2], errors="coerce").fillna(0).to_numpy(np.float64)
    is_sample = ~np.isnan(value)
    # a marker-only row's code goes to the next sample: index of each row among kept samples
    target = np.cumsum(is_sample) - is_sample
    target = np.where(is_sample, target, np.cumsum(is_sample))
    n = int(is_sample.sum())
    trigger = np.zeros(n)
    marks = (code > 0) & (target < n)
    trigger[target[marks]] = code[marks]
    return value[is_sample], trigger


def parse_camera(table: pd.DataFrame, source: str) -> dict[int, tuple[float, float]]:
    """vid -> (start s, end s) of each trial relative to camera start (marker (-1, 0)), as ``Format_video.py``."""
    vid, marker = table.iloc[:, 0].astype(int).to_numpy(), table.iloc[:, 1].astype(int).to_numpy()
    ms = table.iloc[:, 2].astype(float).to_numpy()
    cam = ms[(vid == -1) & (marker == 0)]
    if not len(cam):
        raise DataError(f"{source}: no camera-start row (-1, 0)")
    starts = {int(v): t for v, m, t in zip(vid, marker, ms) if v >= 0 and m == v + START}
    ends = {int(v): t for v, m, t in zip(vid, marker, ms) if v >= 0 and m == v + END}
    missing = [v for v in range(N_TRIALS) if v not in starts or v not in ends]
    if missing:
        raise DataError(f"{source}: no start/end marker for vid(s) {missing}")
    return {v: ((starts[v] - cam[0]) / 1000, (ends[v] - cam[0]) / 1000) for v in range(N_TRIALS)}


def clip_frames(start_s: float, end_s: float, fps: int = FPS) -> tuple[int, int]:
    """(first frame, frame count) of a trial in the face video, as ``Format_video.py`` cuts it."""
    return int(start_s * fps), int((end_s - start_s) * fps)


def parse_panas(table: pd.DataFrame, source: str) -> np.ndarray:
    """(32, 10) label distributions (scores / row sum, indexed by vid) of a ``*_panas.csv`` table.

    Rows of vids outside 0-31 (e.g. the practice clip) are ignored. Every score must be an
    integer 1..5: the recording script stores unparsable input as 0, which is an error here
    naming the file and line (the table's index + 1: 1-based file line when read by
    `read_table`).
    """
    if table.shape[1] < 1 + N_ITEMS:
        raise DataError(f"{source}: {table.shape[1]} columns, expected vid + {N_ITEMS} PANAS items")
    vids = pd.to_numeric(table.iloc[:, 0], errors="coerce")
    scores = table.iloc[:, 1:1 + N_ITEMS].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    labels = np.full((N_TRIALS, N_ITEMS), np.nan)
    for line, vid, row in zip(table.index + 1, vids, scores):
        if not (0 <= vid < N_TRIALS):
            continue
        bad = ~np.isin(row, np.arange(1, 6))
        if bad.any():
            raise InvalidRating(f"{source}: line {line} (vid {int(vid)}): PANAS item {int(np.argmax(bad)) + 1} is "
                            f"{row[bad][0]:g}, expected an integer 1..5 (0 = invalid input at recording)")
        if not np.isnan(labels[int(vid)]).all():
            raise DataError(f"{source}: line {line}: vid {int(vid)} rated twice")
        labels[int(vid)] = row / row.sum()
    missing = np.flatnonzero(np.isnan(labels).all(axis=1))
    if len(missing):
        raise DataError(f"{source}: no PANAS row for vid(s) {missing.tolist()}")
    return labels


def select_eeg_channels(names: list[str], data: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(18 EEG channels in ``EEG_CHANNELS`` order, trigger) of the 25 DSI-24 EDF signals.

    Labels like "EEG Fp1-Pz" are reduced to "Fp1" (as ``PreprocessEEG.m`` renames them); A1,
    A2, X1-X3, CM and the trigger are dropped.
    """
    if data.shape[0] <= TRIGGER_INDEX:
        raise DataError(f"{source}: {data.shape[0]} signals, expected 25 (signal 25 = trigger)")
    short = [re.sub(r"^EEG\s+|-\w+$", "", n.strip()) for n in names]
    index = {n.lower(): i for i, n in enumerate(short)}
    missing = [c for c in EEG_CHANNELS if c.lower() not in index]
    if missing:
        raise DataError(f"{source}: EEG channel(s) {missing} not found among {names}")
    return data[[index[c.lower()] for c in EEG_CHANNELS]], data[TRIGGER_INDEX]


def _tag(x: np.ndarray, vid: int) -> np.ndarray:
    return np.vstack([np.atleast_2d(x), np.full((1, np.shape(x)[-1]), vid)])


def align(eeg: np.ndarray, eeg_b: dict, gsr: np.ndarray, gsr_b: dict, ppg: np.ndarray, ppg_b: dict,
          clips: dict[int, tuple[int, int]]) -> tuple[dict[str, np.ndarray], dict[int, tuple[int, int]]]:
    """``datas.mat``-shaped signals and per-trial frame ranges, each trial cut to its last L seconds.

    As ``AlignAllData.py``: L = floor(min over EEG, GSR, PPG and video of the trial's duration);
    every modality keeps its last L·fs samples and the video its last L·30 frames; the rest
    period (vid 40) is kept whole and comes first.
    """
    mods = {"eeg": (eeg, eeg_b, EEG_FS), "gsr": (gsr, gsr_b, GSR_FS), "ppg": (ppg, ppg_b, PPG_FS)}
    parts = {k: [_tag(x[..., b[REST][0]:b[REST][1]], REST)] for k, (x, b, _) in mods.items()}
    frames = {}
    for vid in range(N_TRIALS):
        segs = {k: x[..., b[vid][0]:b[vid][1]] for k, (x, b, _) in mods.items()}
        first, count = clips[vid]
        length = int(min([segs[k].shape[-1] / fs for k, (_, _, fs) in mods.items()] + [count / FPS]))
        for k, (_, _, fs) in mods.items():
            parts[k].append(_tag(segs[k][..., segs[k].shape[-1] - length * fs:], vid))
        frames[vid] = (first + count - length * FPS, length * FPS)
    return {f"{k}_datas": np.hstack(v) for k, v in parts.items()}, frames


# ------------------------------------------------------------------ I/O
def _find(d: Path, pattern: str, required: bool = True) -> Path | None:
    hits = sorted(p for p in d.rglob(pattern) if p.is_file())
    if len(hits) > 1:
        raise DataError(f"{d}: several files match {pattern!r}: {[str(h) for h in hits]}")
    if not hits and required:
        raise DataError(f"{d}: no file matching {pattern!r} (raw DMER recordings, datasets.md §1.4)")
    return hits[0] if hits else None


def locate(d: Path) -> dict[str, Path | None]:
    """The raw files of subject folder ``d`` (GSR/PPG may be None: such subjects are skipped later)."""
    videos = sorted(p for p in d.rglob("*_new.mp4")) or sorted(
        p for p in d.rglob("*.mp4") if not re.fullmatch(r"\d+\.mp4", p.name))
    if len(videos) != 1:
        raise DataError(f"{d}: expected one face video (*_new.mp4 or *.mp4), found {[str(v) for v in videos]}")
    return {"edf": _find(d, "*_raw.edf"), "gsr": _find(d, "raw_gsr.csv", False), "ppg": _find(d, "raw_ppg.csv", False),
            "camera": _find(d, "camera.csv"), "panas": _find(d, "*_panas.csv"), "video": videos[0]}


def read_dsi24(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(18 EEG channels in µV, trigger codes) of a DSI-24 EDF (thin mne wrapper).

    µV, not mne's volts: the aligned ``datas.mat`` holds EEGLAB's µV, and differential entropy
    depends on the unit (½ ln 10¹² ≈ 13.8 apart), so ``raw`` and ``signals`` must agree on it.
    """
    raw = read_edf(path, "a DSI-24 EEG recording (EDF)")
    if abs(raw.info["sfreq"] - EEG_FS) > 1e-6:
        raise DataError(f"{path}: sampling rate {raw.info['sfreq']} Hz, expected {EEG_FS}")
    data = raw.get_data()
    eeg, _ = select_eeg_channels(raw.ch_names, data, str(path))
    # the trigger's codes are physical values: undo mne's µV -> V scaling if the EDF says µV
    trg_name = raw.ch_names[TRIGGER_INDEX]
    scale = 1e6 if raw._orig_units.get(trg_name, "") in ("uV", "µV") else 1.0
    return eeg * 1e6, data[TRIGGER_INDEX] * scale


def read_table(path: Path, columns: int) -> pd.DataFrame:
    """The first ``columns`` columns of a CSV as numbers (optional header row dropped; blank/unparsable cells NaN)."""
    # round_trip: values parse to the float64 the device wrote (pandas' default parser may be 1 ulp off)
    table = read_csv(path, f"a CSV with at least {columns} columns", header=None, names=range(columns),
                     usecols=range(columns), skip_blank_lines=True, float_precision="round_trip")
    if pd.to_numeric(table.iloc[:1, 0], errors="coerce").isna().all():
        table = table.iloc[1:]  # a header row
    return table.apply(pd.to_numeric, errors="coerce")  # index = 0-based file line


def _peripheral(path: Path | None, name: str) -> tuple[np.ndarray, dict]:
    if path is None or path.stat().st_size == 0:
        raise SkipSubject(f"missing or empty {name}")
    values, trigger = parse_packet_csv(read_table(path, 3))
    if not len(values):
        raise SkipSubject(f"empty {name}")
    return values, trial_bounds(*trigger_events(trigger), str(path))


def load_subject(d: Path, n_frames: int | None = None) -> RawSubject:
    """Parse and align the raw recordings of subject folder ``d`` (`SkipSubject` if unusable)."""
    from .features.video import frame_count

    files = locate(d)
    try:
        labels = parse_panas(read_table(files["panas"], 1 + N_ITEMS), str(files["panas"]))
    except InvalidRating as exc:
        raise SkipSubject(str(exc)) from None
    gsr, gsr_b = _peripheral(files["gsr"], "raw_gsr.csv")
    ppg, ppg_b = _peripheral(files["ppg"], "raw_ppg.csv")
    eeg, trg = read_dsi24(files["edf"])
    eeg_b = trial_bounds(*trigger_events(trg), str(files["edf"]))
    total = frame_count(str(files["video"])) if n_frames is None else n_frames
    clips = {}
    for vid, (s, e) in parse_camera(read_table(files["camera"], 3), str(files["camera"])).items():
        first, count = clip_frames(s, e)
        clips[vid] = (first, max(0, min(count, total - first)))
    signals, frames = align(eeg, eeg_b, gsr, gsr_b, ppg, ppg_b, clips)
    return RawSubject(**signals, frames=frames, labels=labels, video=files["video"])
