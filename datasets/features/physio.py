"""DMER's peripheral features: GSR (28) and PPG (27) window statistics (official ``perifeaext.py``).

Windows are 5 s long with a 1 s step (20 samples of 4 Hz GSR, 500 of 100 Hz PPG). Per window,
seven statistics (median, mean, std, min, max, and the fractions of samples equal to the min
and to the max) on the signal and on its first and second differences (21), then six
statistics of the FFT (median, mean, std, min, max, range: 27). GSR adds the mean Welch PSD (28).
PPG is band-passed 0.5-8 Hz (3rd-order Butterworth, zero-phase) over the whole trial first.

Where the official code is ambiguous we chose (docs/datasets.md, feature recipes): the FFT statistics use the
magnitude ``|fft(x)|`` (the official ``useamp=True`` option), because numpy's lexicographic
ordering of complex numbers makes the complex median/min/max meaningless.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

RECIPE_VERSION = "physio-1"
WINDOW_S = 5
STEP_S = 1
GSR_FS = 4
PPG_FS = 100
_STATS = ("median", "mean", "std", "min", "max", "min_ratio", "max_ratio")
_FFT_STATS = ("fft_median", "fft_mean", "fft_std", "fft_min", "fft_max", "fft_range")
_COMMON = tuple(f"{s}_{p}" for p in ("x", "d1", "d2") for s in _STATS) + _FFT_STATS
GSR_COLUMNS = _COMMON + ("psd_mean",)
PPG_COLUMNS = _COMMON


def windows(x: np.ndarray, fs: float, window_s: float = WINDOW_S, step_s: float = STEP_S) -> np.ndarray:
    """(W, window_s*fs) non-copying windows of a 1-D signal; W = (L - window)//step + 1."""
    size, step = int(round(window_s * fs)), int(round(step_s * fs))
    x = np.asarray(x, dtype=np.float64).ravel()
    if len(x) < size:
        return np.empty((0, size))
    return sliding_window_view(x, size)[::step]


def _seven(w: np.ndarray) -> np.ndarray:
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    n = w.shape[1]
    return np.column_stack([np.median(w, axis=1), w.mean(axis=1), w.std(axis=1), lo[:, 0], hi[:, 0],
                            (w == lo).sum(axis=1) / n, (w == hi).sum(axis=1) / n])


def window_statistics(w: np.ndarray) -> np.ndarray:
    """The 27 statistics shared by GSR and PPG for windows ``w`` (W, n)."""
    amp = np.abs(np.fft.fft(w, axis=1))
    fft = np.column_stack([np.median(amp, axis=1), amp.mean(axis=1), amp.std(axis=1),
                           amp.min(axis=1), amp.max(axis=1), amp.max(axis=1) - amp.min(axis=1)])
    return np.column_stack([_seven(w), _seven(np.diff(w, axis=1)), _seven(np.diff(w, n=2, axis=1)), fft])


def gsr_features(gsr: np.ndarray, fs: float = GSR_FS) -> np.ndarray:
    """(W, 28) features of one trial's GSR (unfiltered, as the official code)."""
    w = windows(gsr, fs)
    if not len(w):
        return np.empty((0, len(GSR_COLUMNS)))
    _, psd = signal.welch(w, fs=fs, nperseg=min(256, w.shape[1]), axis=1)
    return np.column_stack([window_statistics(w), psd.mean(axis=1)])


def bandpass(x: np.ndarray, fs: float, lo: float, hi: float, order: int = 3) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``filtfilt``) over the whole signal."""
    b, a = signal.butter(order, [lo, hi], btype="band", fs=fs)
    return signal.filtfilt(b, a, np.asarray(x, dtype=np.float64).ravel())


def ppg_features(ppg: np.ndarray, fs: float = PPG_FS) -> np.ndarray:
    """(W, 27) features of one trial's PPG after a 0.5-8 Hz band-pass."""
    w = windows(bandpass(ppg, fs, 0.5, 8.0), fs)
    if not len(w):
        return np.empty((0, len(PPG_COLUMNS)))
    return window_statistics(w)
