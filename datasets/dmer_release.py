"""A simulated DMER release: every file the ``dmer`` loader reads, in DMER's formats, with known truth.

Why: the real release cannot be shipped with the code, yet the raw path (EDF + packetised CSVs +
camera markers + face video) and the processed layouts must be exercised by real readers on real
files, and the cost of extraction at DMER's size must be measurable. ``python -m benchmark
simulate dmer --subjects N --out DIR`` writes such a release (:func:`write_release`).

Layout written under ``DIR`` (one folder per subject ``j`` = 1..N; each level is a ``--data-root``
for ``--dataset dmer``):

- ``raw/{j}/`` — ``source=raw`` (the recording script's files, docs/datasets.md DMER):
  ``sub{j}/{j}_raw.edf`` (DSI-24: 25 signals at 300 Hz, labels ``EEG P3-Pz`` … in the DSI-24
  stream order, ``CM`` and ``Trigger`` last; EEG in µV, written with edfio), ``raw_gsr.csv``
  (4 Hz) and ``raw_ppg.csv`` (100 Hz), ``camera.csv``, the face video ``{j}_face.mp4`` (mp4v,
  30 fps, 640×480 by default), ``{j}_{time}_{name}_{age}_{gender}_{hand}_panas.csv``,
  ``…_emotions.csv`` and ``Arousal_Valence.csv``.
- ``aligned/{j}/`` — ``source=signals`` and ``source=features``: ``datas.mat`` (``eeg_datas``
  19 × T µV, ``gsr_datas`` and ``ppg_datas`` 2 × T, last row the ``vid``; ``dis_label`` 32 × 10),
  the face clips ``{vid}.mp4`` and the feature files ``eegfea.mat`` (``feas`` W × 5 × 18,
  ``vids``), ``perifea.mat`` (``feas_gsr`` W' × 28, ``feas_ppg`` W' × 27, ``vids``) and
  ``videoFea.mat`` (``lbps_all`` W × 768, ``vids``).
- ``combined/{j}/`` — ``source=features`` through the 913-column ``feas.mat`` of
  ``PrepareFeatures4Subj.m`` (first 4 EEG/video windows of each trial dropped; EEG block per
  channel with the 5 bands fastest) beside a ``datas.mat`` holding ``dis_label`` only.

The session (per subject, seconds on the EEG clock): a practice clip (vid 50, triggers 60/150),
the rest (vid 40, 50/140), then 4 blocks of 8 clips in the Latin-square order of
``MultiModal-V3.py`` (blocks [0-7], [16-23], [8-15], [24-31], rotated by ``(j-1) % 4``; clips
shuffled within a block). Each trial: 3 s instruction, the clip (start trigger vid+10, end
vid+100), then ``gap_seconds`` of questionnaires and rest; ``4 × gap_seconds`` between blocks
(arithmetic task + rest). Clip durations are shared by all subjects (same films) and drawn
within ±15 % of ``clip_seconds`` (DMER's mean is about 27 s).

Choices where the release's format is not documented (docs/datasets.md, "simulated release"):

- GSR/PPG CSVs have no header; the wristband sends one packet per second (4 GSR or 100 PPG
  samples); the packet head carries the unix time in ms; a marker is its own row
  ``unix_ms,,code`` placed before the first sample at or after the event (the loader moves a
  valueless row's code to the next sample). Markers reach the wristband 0-40 ms late.
- ``camera.csv`` has no header; rows ``vid,marker,unix_ms`` for the camera start ``(-1, 0)``,
  every start/end marker (practice, rest, trials) and the stop ``(-1, 1)``.
- The PANAS, emotions and arousal/valence CSVs have a header row and one row per trial in
  presentation order, the practice clip (vid 50) first.
- ``datas.mat`` EEG is in µV (EEGLAB's unit, which the official alignment keeps) and is the
  EDF's decoded 16-bit values, so ``raw`` and ``signals`` see the same numbers; device-computed
  ``gsr_fea_datas``/``ppg_fea_datas`` are not written (the benchmark never reads them).
- Feature files are what this suite's recipes (:mod:`datasets.features`) compute from the
  aligned signals and clips, so the three levels must agree (the official scripts' quirks,
  listed in docs/datasets.md, would make a real release's files differ).
- The face video is a moving grating (no face): LBP-TOP responds to its orientation, spatial
  frequency and drift, which follow the trial's affect.

Signals carry label-dependent structure, as :mod:`datasets.synthetic` does: each (subject,
trial) has latent positive and negative affect (PA, NA), the subject's integer 1-5 PANAS ratings
follow from them; EEG alpha/theta power follows PA and beta/gamma NA (per-subject channel
weights), the GSR level and SCR rate follow NA, the heart rate and pulse amplitude follow NA and
PA, and the video's grating follows both. :func:`write_release` returns the truth (latents,
ratings, durations, aligned lengths) as :class:`Truth` and also writes it to ``DIR/truth.json``.

Damage (``damage={subject: kind}``) makes a subject the loader must exclude, with the reason
logged: ``no-wristband`` (no GSR/PPG files; empty ``gsr_datas``/``ppg_datas`` and peripheral
features), ``broken-triggers`` (one trial's end trigger missing from the EDF: 67 triggers) and
``bad-panas`` (one PANAS entry stored as 0, as the recording script stores unparsable input). The
official pipeline cannot align the last two, so they appear under ``raw/`` only.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

EEG_FS, GSR_FS, PPG_FS, FPS = 300, 4, 100, 30
# DSI-24 stream order (docs/datasets.md DMER); 25th signal = trigger.
DSI24 = ("P3", "C3", "F3", "Fz", "F4", "C4", "P4", "Cz", "CM", "A1", "Fp1", "Fp2", "T3", "T5",
         "O1", "O2", "X3", "X2", "F7", "F8", "X1", "A2", "T6", "T4")
EEG18 = ("P3", "C3", "F3", "Fz", "F4", "C4", "P4", "Cz", "Fp1", "Fp2", "T3", "T5", "O1", "O2",
         "F7", "F8", "T6", "T4")
PANAS_ITEMS = ("Inspired", "Alert", "Excited", "Enthusiastic", "Determined", "Afraid", "Upset",
               "Nervous", "Scared", "Distressed")
N_TRIALS, PRACTICE, REST, DROP = 32, 50, 40, 4
BLOCKS = (tuple(range(0, 8)), tuple(range(16, 24)), tuple(range(8, 16)), tuple(range(24, 32)))
DAMAGES = ("no-wristband", "broken-triggers", "bad-panas")
MIN_CLIP_SECONDS = 8.0  # ±15 % and device latencies keep every aligned trial >= 6 s (>= 2 windows)
EEG_RANGE_UV = 3000.0  # EDF physical range ±3 mV: 0.09 µV per digital step
BANDS = ((1, 4), (4, 8), (8, 14), (14, 31), (31, 49))
_UNIX0_MS = 1_700_000_000_000


@dataclass
class SubjectTruth:
    """What was generated for one subject (JSON-serialisable)."""

    subject: str
    damage: str | None
    order: list[int]  # presentation order of the 32 vids
    pa: list[float]  # latent affect per vid
    na: list[float]
    ratings: list[list[int]]  # (32, 10) PANAS 1-5 per vid
    aligned_seconds: list[int]  # L per vid (the common aligned length)


@dataclass
class Truth:
    """The release's parameters and per-subject truth."""

    n_subjects: int
    clip_seconds: float
    seed: int
    video_size: tuple[int, int]
    rest_seconds: float
    gap_seconds: float
    clip_durations: list[float]  # per vid, seconds
    subjects: list[SubjectTruth] = field(default_factory=list)


# ------------------------------------------------------------------ the session
@dataclass
class _Session:
    """One subject's timeline (EEG-clock seconds) and affect."""

    events: list[tuple[int, float]]  # (trigger code, time s) in order
    order: list[int]
    pa: np.ndarray  # (32,)
    na: np.ndarray
    end: float  # recording end (s)


def _timeline(order: list[int], durations: np.ndarray, practice_s: float, rest_s: float,
              gap_s: float) -> tuple[list[tuple[int, float]], float]:
    t = 2.0 + 3.0
    events = [(PRACTICE + 10, t), (PRACTICE + 100, t + practice_s)]
    t += practice_s + gap_s
    events += [(REST + 10, t), (REST + 100, t + rest_s)]
    t += rest_s + gap_s
    for i, vid in enumerate(order):
        if i and i % 8 == 0:
            t += 4 * gap_s  # arithmetic task and rest between blocks
        t += 3.0
        events += [(vid + 10, t), (vid + 100, t + float(durations[vid]))]
        t += float(durations[vid]) + gap_s
    return events, t + 2.0


def _order(subject_no: int, rng: np.random.Generator) -> list[int]:
    k = (subject_no - 1) % 4
    blocks = BLOCKS[k:] + BLOCKS[:k]
    return [int(v) for b in blocks for v in rng.permutation(b)]


def _state(times: np.ndarray, events: list[tuple[int, float]], pa: np.ndarray, na: np.ndarray,
           neutral: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(PA, NA) at EEG-clock ``times``: the trial's latents during its clip, ``neutral`` elsewhere."""
    a = np.full(len(times), neutral)
    b = np.full(len(times), neutral)
    for (code, t0), (_, t1) in zip(events[4::2], events[5::2]):
        sel = (times >= t0) & (times < t1)
        a[sel], b[sel] = pa[code - 10], na[code - 10]
    return a, b


# ------------------------------------------------------------------ signals
def _band_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float, k: int) -> np.ndarray:
    """(k, n) unit-variance noise limited to [lo, hi) Hz (FFT shaping)."""
    spec = np.fft.rfft(rng.standard_normal((k, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec[:, (f < lo) | (f >= hi)] = 0
    x = np.fft.irfft(spec, n=n, axis=1)
    return x / (x.std(axis=1, keepdims=True) + 1e-12)


def _eeg(rng: np.random.Generator, n: int, a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(24, n) EEG in µV: 1/f-like background plus five bands whose power follows PA/NA."""
    k = len(DSI24)
    x = 4.0 * _band_noise(rng, n, EEG_FS, 0.5, 120, k)
    # band gain exponents: delta ~ -NA, theta ~ PA·NA, alpha ~ PA, beta ~ NA, gamma ~ NA - PA
    drive = np.stack([-(b - 0.3), (a - 0.3) * (b + 0.3), a - 0.3, b - 0.3, b - a])  # (5, n)
    amp = (12.0, 8.0, 10.0, 5.0, 3.0)
    for i, (lo, hi) in enumerate(BANDS):
        gain = np.exp(2.0 * weights[:, i:i + 1] * drive[i][None, :])  # (k, n)
        x += amp[i] * gain * _band_noise(rng, n, EEG_FS, lo, hi, k)
    return np.clip(x, -EEG_RANGE_UV * 0.99, EEG_RANGE_UV * 0.99)


def _gsr(rng: np.random.Generator, t: np.ndarray, a: np.ndarray, b: np.ndarray, base: float) -> np.ndarray:
    """Skin conductance (µS) at times ``t``: a tonic level following NA plus SCRs at an NA-driven rate."""
    level = base + 3.0 * b + 0.8 * a
    kernel_t = np.arange(0, 12, 1 / GSR_FS)
    kernel = np.exp(-kernel_t / 3.0) - np.exp(-kernel_t / 0.7)
    onsets = rng.random(len(t)) < (0.03 + 0.25 * b) / GSR_FS
    phasic = np.convolve(onsets * (0.3 + rng.random(len(t))), kernel)[:len(t)]
    smooth = np.convolve(level, np.ones(8) / 8, mode="same")
    return smooth + phasic + 0.02 * rng.standard_normal(len(t))


def _ppg(rng: np.random.Generator, t: np.ndarray, a: np.ndarray, b: np.ndarray, hr0: float) -> np.ndarray:
    """Photoplethysmogram at times ``t``: heart rate follows NA (and PA), pulse amplitude PA."""
    hr = hr0 + 25.0 * b + 8.0 * a + 2.0 * np.sin(2 * np.pi * 0.1 * t)
    phase = 2 * np.pi * np.cumsum(hr / 60.0) / PPG_FS
    amp = 1.0 + 0.8 * a
    wave = amp * (np.sin(phase) + 0.45 * np.sin(2 * phase + 0.8) + 0.15 * np.sin(3 * phase + 1.6))
    return 500 + 40 * wave + 5 * np.sin(2 * np.pi * 0.25 * t) + 1.5 * rng.standard_normal(len(t))


class _Video:
    """Frames of one subject's face camera, generated on demand from the affect timeline.

    During a clip the frame is a drifting grating whose orientation follows PA, spatial
    frequency NA and drift speed the PA/NA mix; outside clips the camera sees a still neutral
    frame (cheap to generate and to encode: a full-length session video is mostly gaps).
    """

    def __init__(self, events, pa, na, cam0_s: float, n_frames: int, size: tuple[int, int], seed: int):
        self.w, self.h = size
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.grid = (yy, xx)
        t = cam0_s + np.arange(n_frames) / FPS
        self.a, self.b = _state(t, events, pa, na)
        self.inside = np.zeros(n_frames, bool)
        for (_, t0), (_, t1) in zip(events[4::2], events[5::2]):
            self.inside |= (t >= t0) & (t < t1)
        speed = 0.15 + 0.6 * np.abs(self.a - self.b)  # radians per frame: motion follows the mix
        self.phase = np.cumsum(speed) + np.random.default_rng(seed).uniform(0, 2 * np.pi)
        self.n = n_frames
        self._maps: dict = {}
        self._still = self._render(0.3, 0.3, 0.0)

    def _basis(self, a: float, b: float):
        key = (round(a, 6), round(b, 6))
        if key not in self._maps:
            yy, xx = self.grid
            theta = np.pi * (0.1 + 0.8 * a)
            freq = 0.02 + 0.06 * b  # cycles per pixel: smooth enough for mp4v to keep
            arg = 2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta))
            arg2 = 2 * np.pi * 0.013 * (xx + 2 * yy)
            self._maps[key] = tuple(m.astype(np.float32) for m in
                                    (np.sin(arg), np.cos(arg), np.sin(arg2), np.cos(arg2)))
        return self._maps[key]

    def _render(self, a: float, b: float, phase: float) -> np.ndarray:
        s1, c1, s2, c2 = self._basis(a, b)
        g = (128 + 90 * (s1 * np.float32(np.cos(phase)) + c1 * np.float32(np.sin(phase)))
             + 20 * (s2 * np.float32(np.cos(-0.5 * phase)) + c2 * np.float32(np.sin(-0.5 * phase))))
        gray = np.clip(g, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)

    def frame(self, k: int) -> np.ndarray:
        if not self.inside[k]:
            return self._still
        return self._render(self.a[k], self.b[k], self.phase[k])

    def write(self, path: Path, first: int, count: int) -> None:
        import cv2

        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (self.w, self.h))
        if not out.isOpened():
            raise OSError(f"{path}: OpenCV cannot open an mp4v writer")
        try:
            for k in range(first, first + count):
                out.write(self.frame(k))
        finally:
            out.release()


# ------------------------------------------------------------------ writers
def _write_edf(path: Path, eeg_uv: np.ndarray, trigger: np.ndarray, start) -> np.ndarray:
    """Write the DSI-24 EDF; return the 24 EEG signals as the file holds them (decoded, µV)."""
    import edfio

    sigs = [edfio.EdfSignal(eeg_uv[i], EEG_FS, label=("CM" if ch == "CM" else f"EEG {ch}-Pz"),
                            transducer_type="dry electrode", physical_dimension="uV",
                            physical_range=(-EEG_RANGE_UV, EEG_RANGE_UV))
            for i, ch in enumerate(DSI24)]
    sigs.append(edfio.EdfSignal(trigger.astype(np.float64), EEG_FS, label="Trigger",
                                physical_range=(0, 255), digital_range=(0, 255)))
    path.parent.mkdir(parents=True, exist_ok=True)
    edfio.Edf(sigs, recording=edfio.Recording(startdate=start.date(), equipment_code="DSI-24"),
              starttime=start.time().replace(microsecond=0), data_record_duration=1.0).write(path)
    back = edfio.read_edf(path)
    return np.stack([s.data for s in back.signals[:len(DSI24)]])


def _packet_csv(path: Path, values: np.ndarray, fs: int, start_ms: int, markers: list[tuple[int, int]]) -> None:
    """Write ``raw_gsr.csv``/``raw_ppg.csv``: packet-head timestamps, marker rows before sample index."""
    n = len(values)
    per_packet = fs  # one packet per second
    at = {}
    for idx, code in markers:
        at.setdefault(idx, []).append(code)
    lines = []
    for i in range(n):
        ms = start_ms + int(round(1000 * i / fs))
        for code in at.get(i, ()):
            lines.append(f"{ms},,{code}")
        head = str(ms) if i % per_packet == 0 else ""
        lines.append(f"{head},{float(values[i])!r},")
    path.write_text("\n".join(lines) + "\n")


def _csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in r) for r in rows]) + "\n")


def _savemat(path: Path, arrays: dict) -> None:
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, arrays, do_compression=False)


# ------------------------------------------------------------------ one subject
def _features(eeg_datas, gsr_datas, ppg_datas, clip_frames: dict[int, np.ndarray]) -> dict:
    """Per-modality (features, vids) computed with the suite's recipes from aligned signals."""
    from .features import eeg as feeg
    from .features import physio, video

    clean = feeg.preprocess(eeg_datas[:-1], EEG_FS)
    out = {k: ([], []) for k in ("eeg", "gsr", "ppg", "video")}
    for vid in range(N_TRIALS):
        parts = {"eeg": feeg.differential_entropy(clean[:, eeg_datas[-1] == vid], EEG_FS),
                 "video": video.video_features(clip_frames[vid])}
        if gsr_datas.size:
            parts["gsr"] = physio.gsr_features(gsr_datas[0, gsr_datas[-1] == vid], GSR_FS)
            parts["ppg"] = physio.ppg_features(ppg_datas[0, ppg_datas[-1] == vid], PPG_FS)
        for k, x in parts.items():
            out[k][0].append(x)
            out[k][1].append(np.full(len(x), vid))
    return {k: (np.concatenate(x) if x else np.empty((0, 0)), np.concatenate(v) if v else np.empty(0))
            for k, (x, v) in out.items()}


def _subject(out: Path, no: int, truth: Truth, durations: np.ndarray, clip_affect, loadings,
             damage: str | None, practice_s: float, rest_s: float, gap_s: float, levels: tuple) -> SubjectTruth:
    import datetime as dt

    from .features.video import read_gray_frames
    from .synthetic import _ratings

    sid = str(no)
    rng = np.random.default_rng([truth.seed, no])
    style = (0.05 * rng.standard_normal(), rng.uniform(0.55, 1.0))
    pa = np.array([float(np.clip(c[0] + 0.1 * rng.standard_normal(), 0, 1)) for c in clip_affect])
    na = np.array([float(np.clip(c[1] + 0.1 * rng.standard_normal(), 0, 1)) for c in clip_affect])
    ratings = np.array([_ratings(p, q, style, loadings, rng) for p, q in zip(pa, na)], dtype=int)
    order = _order(no, rng)
    events, end = _timeline(order, durations, practice_s, rest_s, gap_s)
    start = dt.datetime(2023, 3, 1, 9, 0, 0) + dt.timedelta(days=no)
    unix0 = _UNIX0_MS + no * 86_400_000  # unix ms at EEG time 0

    # --- EEG (clock of the EEG amplifier: trigger samples are exact)
    n_eeg = int(np.ceil(end)) * EEG_FS
    t_eeg = np.arange(n_eeg) / EEG_FS
    a, b = _state(t_eeg, events, pa, na)
    weights = rng.uniform(0.5, 1.0, (len(DSI24), len(BANDS))) * (1 + 0.3 * rng.standard_normal(len(BANDS)))
    eeg_uv = _eeg(rng, n_eeg, a, b, weights)
    eeg_idx = [(c, int(round(t * EEG_FS))) for c, t in events]
    trigger = np.zeros(n_eeg)
    dropped = None
    if damage == "broken-triggers":
        dropped = 4 + 2 * 5 + 1  # the end trigger of the 6th trial presented
    for i, (c, s) in enumerate(eeg_idx):
        if i != dropped:
            trigger[s] = c
    raw_dir = out / "raw" / sid
    eeg_file = _write_edf(raw_dir / f"sub{sid}" / f"{sid}_raw.edf", eeg_uv, trigger, start) \
        if "raw" in levels else np.round(eeg_uv / (2 * EEG_RANGE_UV / 65535)) * (2 * EEG_RANGE_UV / 65535)

    # --- wristband (own clock; markers arrive 0-40 ms late)
    w0 = -1.5 - rng.random()  # wristband started before the EEG
    n_w = int(end - w0)
    t_gsr = w0 + np.arange(n_w * GSR_FS) / GSR_FS
    t_ppg = w0 + np.arange(n_w * PPG_FS) / PPG_FS
    gsr = _gsr(rng, t_gsr, *_state(t_gsr, events, pa, na), base=rng.uniform(2, 8))
    ppg = _ppg(rng, t_ppg, *_state(t_ppg, events, pa, na), hr0=rng.uniform(58, 75))
    lat = rng.uniform(0, 0.04, len(events))
    gsr_idx = [(c, int(np.ceil((t + d - w0) * GSR_FS - 1e-9))) for (c, t), d in zip(events, lat)]
    ppg_idx = [(c, int(np.ceil((t + d - w0) * PPG_FS - 1e-9))) for (c, t), d in zip(events, lat)]

    # --- camera (markers stamped with the computer's clock, ms)
    cam0 = 1.0 + 0.5 * rng.random()
    cam_ms = [unix0 + int(round(1000 * cam0))]
    ev_ms = [unix0 + int(round(1000 * (t + d))) for (c, t), d in zip(events, rng.uniform(0, 0.03, len(events)))]
    stop_ms = unix0 + int(round(1000 * (end - 0.5)))
    n_frames = int((stop_ms - cam_ms[0]) / 1000 * FPS)
    video = _Video(events, pa, na, cam0, n_frames, truth.video_size, seed=truth.seed * 1000 + no)

    # --- alignment truth (what AlignAllData.py keeps): last L s of each trial
    codes = [c for c, _ in events]
    pos = {m: dict(zip(codes, [s for _, s in idx])) for m, idx in
           (("eeg", eeg_idx), ("gsr", gsr_idx), ("ppg", ppg_idx))}
    frames, lengths = {}, []
    for vid in range(N_TRIALS):
        s_s, e_s = [(ms - cam_ms[0]) / 1000 for ms in (ev_ms[codes.index(vid + 10)], ev_ms[codes.index(vid + 100)])]
        first, count = int(s_s * FPS), int((e_s - s_s) * FPS)
        dur = [(pos[m][vid + 100] - pos[m][vid + 10]) / fs for m, fs in (("eeg", EEG_FS), ("gsr", GSR_FS), ("ppg", PPG_FS))]
        L = int(min(dur + [count / FPS]))
        lengths.append(L)
        frames[vid] = (first + count - L * FPS, L * FPS)

    def aligned(x: np.ndarray, m: str, fs: int) -> np.ndarray:
        parts = [np.vstack([np.atleast_2d(x[..., pos[m][REST + 10]:pos[m][REST + 100]]),
                            np.full((1, pos[m][REST + 100] - pos[m][REST + 10]), REST)])]
        for vid in range(N_TRIALS):
            e = pos[m][vid + 100]
            seg = np.atleast_2d(x[..., e - lengths[vid] * fs:e])
            parts.append(np.vstack([seg, np.full((1, seg.shape[1]), vid)]))
        return np.hstack(parts)

    eeg18 = eeg_file[[DSI24.index(c) for c in EEG18]]
    labels = ratings / ratings.sum(axis=1, keepdims=True)
    rec = SubjectTruth(sid, damage, order, pa.tolist(), na.tolist(), ratings.tolist(), lengths)

    # --- raw files
    if "raw" in levels:
        stamp = start.strftime("%Y%m%d%H%M")
        prefix = f"{sid}_{stamp}_sim{sid}_{20 + no % 10}_{'MF'[no % 2]}_R"
        pract = [PRACTICE, *[3] * 10]
        rows = [[vid, *ratings[vid]] for vid in order]
        if damage == "bad-panas":
            rows[7][1 + 3] = 0  # unparsable input stored as 0 by the recording script
        _csv(raw_dir / f"{prefix}_panas.csv", ["vid", *PANAS_ITEMS], [pract] + rows)
        aro = np.clip(np.rint(1 + 8 * np.maximum(pa, na)), 1, 9).astype(int)
        val = np.clip(np.rint(5 + 4 * (pa - na)), 1, 9).astype(int)
        dom = np.clip(np.rint(5 + 2 * (pa - 0.5)), 1, 9).astype(int)
        _csv(raw_dir / "Arousal_Valence.csv", ["vid", "arousal", "valence", "dominance"],
             [[PRACTICE, 5, 5, 5]] + [[v, aro[v], val[v], dom[v]] for v in order])
        amu, dis = (np.clip(np.rint(1 + 4 * x), 1, 5).astype(int) for x in (pa, na))
        _csv(raw_dir / f"{prefix}_emotions.csv", ["vid", "amusement", "disgust"],
             [[PRACTICE, 3, 1]] + [[v, amu[v], dis[v]] for v in order])
        if damage != "no-wristband":
            w0_ms = unix0 + int(round(1000 * w0))
            _packet_csv(raw_dir / "raw_gsr.csv", gsr, GSR_FS, w0_ms, [(i, c) for c, i in gsr_idx])
            _packet_csv(raw_dir / "raw_ppg.csv", ppg, PPG_FS, w0_ms, [(i, c) for c, i in ppg_idx])
        cam_rows = [[-1, 0, cam_ms[0]]]
        for (c, _), ms in zip(events, ev_ms):
            vid = c - 10 if c < 100 else c - 100
            cam_rows.append([vid, c, ms])
        cam_rows.append([-1, 1, stop_ms])
        (raw_dir / "camera.csv").write_text("\n".join(",".join(map(str, r)) for r in cam_rows) + "\n")
        video.write(raw_dir / f"{sid}_face.mp4", 0, n_frames)

    if damage in ("broken-triggers", "bad-panas"):
        return rec  # the official pipeline cannot align these: raw files only
    # --- aligned signals, clips and feature files
    eeg_datas = aligned(eeg18, "eeg", EEG_FS)
    if damage == "no-wristband":
        gsr_datas = ppg_datas = np.empty((0, 0))
    else:
        gsr_datas, ppg_datas = aligned(gsr, "gsr", GSR_FS), aligned(ppg, "ppg", PPG_FS)
    al = out / "aligned" / sid
    if "aligned" in levels or "combined" in levels:
        al.mkdir(parents=True, exist_ok=True)
        for vid in range(N_TRIALS):
            video.write(al / f"{vid}.mp4", *frames[vid])
        clips = {vid: read_gray_frames(str(al / f"{vid}.mp4")) for vid in range(N_TRIALS)}
        feats = _features(eeg_datas, gsr_datas, ppg_datas, clips)
    if "aligned" in levels:
        _savemat(al / "datas.mat", {"eeg_datas": eeg_datas, "gsr_datas": gsr_datas,
                                    "ppg_datas": ppg_datas, "dis_label": labels})
        e, v = feats["eeg"], feats["video"]
        _savemat(al / "eegfea.mat", {"feas": e[0].transpose(0, 2, 1), "vids": e[1][:, None]})
        _savemat(al / "perifea.mat", {"feas_gsr": feats["gsr"][0], "feas_ppg": feats["ppg"][0],
                                      "vids": feats["gsr"][1][:, None]})
        _savemat(al / "videoFea.mat", {"lbps_all": v[0], "vids": v[1][:, None]})
    if "combined" in levels and damage != "no-wristband":
        rows, vids = [], []
        for vid in range(N_TRIALS):
            per = {k: x[vv == vid][0 if k in ("gsr", "ppg") else DROP:] for k, (x, vv) in feats.items()}
            n = min(len(x) for x in per.values())
            rows.append(np.column_stack([per["eeg"][:n].reshape(n, -1), per["gsr"][:n], per["ppg"][:n],
                                         per["video"][:n]]))
            vids.append(np.full(n, vid))
        co = out / "combined" / sid
        _savemat(co / "datas.mat", {"dis_label": labels})
        _savemat(co / "feas.mat", {"feas": np.vstack(rows), "vids": np.concatenate(vids)[:, None]})
        if "aligned" not in levels:
            for vid in range(N_TRIALS):
                (al / f"{vid}.mp4").unlink()
            al.rmdir()
    return rec


def clip_durations(n: int, clip_seconds: float, seed: int) -> np.ndarray:
    """Per-vid clip durations (s), shared by every subject: within ±15 % of ``clip_seconds``."""
    rng = np.random.default_rng([seed, 0])
    return np.round(clip_seconds * rng.uniform(0.85, 1.15, n), 3)


def write_release(out: str | Path, n_subjects: int = 2, clip_seconds: float = 27.0, seed: int = 0,
                  damage: dict[int, str] | None = None, video_size: tuple[int, int] = (640, 480),
                  rest_seconds: float = 180.0, gap_seconds: float = 30.0,
                  levels: tuple[str, ...] = ("raw", "aligned", "combined"),
                  subjects: list[int] | None = None) -> Truth:
    """Write a simulated DMER release under ``out`` (layout in the module docstring); return its truth.

    ``damage`` maps a subject number (1-based) to one of :data:`DAMAGES`; ``subjects`` writes
    only those numbers (the others' shared draws are unchanged, so a subject's files do not
    depend on how many were written alongside it).
    """
    from .synthetic import _trial_affect

    if clip_seconds < MIN_CLIP_SECONDS:
        raise ValueError(f"clip_seconds must be >= {MIN_CLIP_SECONDS:g} (got {clip_seconds:g}): "
                         "shorter trials leave no 5 s peripheral window after alignment")
    damage = dict(damage or {})
    bad = {k: v for k, v in damage.items() if v not in DAMAGES or not 1 <= k <= n_subjects}
    if bad:
        raise ValueError(f"damage {bad}: subjects are 1..{n_subjects}, kinds {', '.join(DAMAGES)}")
    unknown = set(levels) - {"raw", "aligned", "combined"}
    if unknown:
        raise ValueError(f"levels {sorted(unknown)}: expected raw, aligned, combined")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = ["positive"] * 8 + ["negative"] * 8 + ["mixed"] * 16
    clip_affect = [_trial_affect(k, rng) for k in kinds]
    loadings = rng.uniform(0.6, 1.0, len(PANAS_ITEMS))
    durations = clip_durations(N_TRIALS, clip_seconds, seed)
    truth = Truth(n_subjects, clip_seconds, seed, tuple(video_size), rest_seconds, gap_seconds, durations.tolist())
    practice_s = min(clip_seconds, 10.0)
    for no in subjects or range(1, n_subjects + 1):
        truth.subjects.append(_subject(out, no, truth, durations, clip_affect, loadings, damage.get(no),
                                       practice_s, rest_seconds, gap_seconds, tuple(levels)))
    (out / "truth.json").write_text(json.dumps(asdict(truth), indent=1))
    return truth
