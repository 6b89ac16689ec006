"""WESAD features: heart rate + HRV (ECG or BVP), EDA, EMG, ACC and TEMP on sliding windows.

The WESAD paper computes features on 60 s windows (5 s for ACC) shifted by 0.25 s. Here every
window is given by its *centre* time, so windows of different lengths describe the same instant;
the shift is the caller's choice (the loaders' ``shift`` option; 0.25 s reproduces the paper).

The benchmark papers report ECG 73, EDA 4, EMG 14 and ACC 12 features without listing them;
the column lists below are our explicit, versioned choice (``RECIPE_VERSION``):

- **Heart (73)** — ``ECG_Rate_Mean``, ``ECG_Rate_SD`` and 71 columns of neurokit2's ``hrv``
  (time, frequency, nonlinear). Of the 78 HRV columns that are defined on a 60 s window
  (neurokit2 0.2.13), we drop the three multiscale entropies (MSEn, CMSEn, RCMSEn: their coarse
  scales need more beats than a minute holds and are often undefined) and the four symbolic-
  dynamics columns (added in neurokit2 0.2.x, after the benchmark papers' likely version). ULF,
  VLF and the SDANN/SDNNI family need windows of 5 min or more and are never defined here.
  Beats are found once on the whole recording (``ecg_peaks`` / ``ppg_findpeaks`` after
  neurokit2's cleaning), then each window's HRV uses the beats inside it.
- **EDA (4)** — neurokit2 ``eda_intervalrelated`` on 60 s windows: SCR count, mean SCR
  amplitude, tonic SD, autocorrelation (its two "Sympathetic" columns need > 64 s).
- **EMG (14)** — WESAD Table 1 without the 7-band PSD: mean, std, range, integral |x|, median,
  P10, P90 (7); mean, median and peak frequency (3); peak count, mean, std and sum of peak
  amplitudes (4).
- **ACC (12)** — mean, std and absolute integral for x, y, z and the 3-D magnitude (WESAD
  Table 1 without the per-axis peak frequency, whose 0.2 Hz resolution on 5 s windows at 32 Hz
  carries little information).
- **TEMP (6)** — mean, std, min, max, range, slope (WESAD Table 1).

A window whose value is undefined (e.g. too few beats) is NaN here; loaders impute it.
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

RECIPE_VERSION = "wesad-1"
WINDOW_S = 60.0
ACC_WINDOW_S = 5.0
HRV_COLUMNS = (
    "HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD", "HRV_SDSD", "HRV_CVNN", "HRV_CVSD", "HRV_MedianNN",
    "HRV_MadNN", "HRV_MCVNN", "HRV_IQRNN", "HRV_SDRMSSD", "HRV_Prc20NN", "HRV_Prc80NN",
    "HRV_pNN50", "HRV_pNN20", "HRV_MinNN", "HRV_MaxNN", "HRV_HTI", "HRV_TINN",
    "HRV_LF", "HRV_HF", "HRV_VHF", "HRV_TP", "HRV_LFHF", "HRV_LFn", "HRV_HFn", "HRV_LnHF",
    "HRV_SD1", "HRV_SD2", "HRV_SD1SD2", "HRV_S", "HRV_CSI", "HRV_CVI", "HRV_CSI_Modified",
    "HRV_PIP", "HRV_IALS", "HRV_PSS", "HRV_PAS", "HRV_GI", "HRV_SI", "HRV_AI", "HRV_PI",
    "HRV_C1d", "HRV_C1a", "HRV_SD1d", "HRV_SD1a", "HRV_C2d", "HRV_C2a", "HRV_SD2d", "HRV_SD2a",
    "HRV_Cd", "HRV_Ca", "HRV_SDNNd", "HRV_SDNNa", "HRV_DFA_alpha1", "HRV_MFDFA_alpha1_Width",
    "HRV_MFDFA_alpha1_Peak", "HRV_MFDFA_alpha1_Mean", "HRV_MFDFA_alpha1_Max",
    "HRV_MFDFA_alpha1_Delta", "HRV_MFDFA_alpha1_Asymmetry", "HRV_MFDFA_alpha1_Fluctuation",
    "HRV_MFDFA_alpha1_Increment", "HRV_ApEn", "HRV_SampEn", "HRV_ShanEn", "HRV_FuzzyEn",
    "HRV_CD", "HRV_HFD", "HRV_KFD", "HRV_LZC")
HEART_COLUMNS = ("Rate_Mean", "Rate_SD") + HRV_COLUMNS
EDA_COLUMNS = ("SCR_Peaks_N", "SCR_Peaks_Amplitude_Mean", "EDA_Tonic_SD", "EDA_Autocorrelation")
EMG_COLUMNS = ("mean", "std", "range", "integral", "median", "p10", "p90", "freq_mean",
               "freq_median", "freq_peak", "peaks_n", "peaks_amp_mean", "peaks_amp_std", "peaks_amp_sum")
ACC_COLUMNS = tuple(f"{s}_{a}" for a in ("x", "y", "z", "3d") for s in ("mean", "std", "abs_integral"))
TEMP_COLUMNS = ("mean", "std", "min", "max", "range", "slope")
MIN_BEATS = 10


def window_slices(n: int, fs: float, centres: np.ndarray, window_s: float) -> np.ndarray:
    """(W, 2) sample bounds [a, b) of windows of ``window_s`` centred at ``centres`` (s).

    Raises ValueError if a window leaves the signal: windows are the caller's responsibility.
    """
    size = int(round(window_s * fs))
    a = np.round(np.asarray(centres, dtype=np.float64) * fs - size / 2).astype(np.int64)
    if len(a) and (a.min() < 0 or a.max() + size > n):
        raise ValueError(f"a {window_s:g} s window leaves the {n / fs:.1f} s signal")
    return np.column_stack([a, a + size])


def _stack(x: np.ndarray, fs: float, centres: np.ndarray, window_s: float) -> np.ndarray:
    """(W, size, ...) windows of ``x`` (no copy of the signal)."""
    bounds = window_slices(len(x), fs, centres, window_s)
    size = int(round(window_s * fs))
    view = sliding_window_view(x, size, axis=0)  # (n - size + 1, ..., size)
    return np.moveaxis(view[bounds[:, 0]], -1, 1)


def beats(sig: np.ndarray, fs: float, kind: str) -> np.ndarray:
    """Sample indices of heart beats in a whole ECG (``kind='ecg'``) or BVP/PPG recording."""
    import neurokit2 as nk

    sig = np.asarray(sig, dtype=np.float64).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "ecg":
            _, info = nk.ecg_peaks(nk.ecg_clean(sig, sampling_rate=fs), sampling_rate=fs)
            return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        if kind in ("ppg", "bvp"):
            info = nk.ppg_findpeaks(nk.ppg_clean(sig, sampling_rate=fs), sampling_rate=fs)
            return np.asarray(info["PPG_Peaks"], dtype=np.int64)
    raise ValueError(f"kind must be 'ecg' or 'ppg', got {kind!r}")


def _window_hrv(peaks: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    out = np.full(len(HEART_COLUMNS), np.nan)
    if len(peaks) < MIN_BEATS:
        return out
    rate = 60.0 * fs / np.diff(peaks)
    out[:2] = rate.mean(), rate.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            hrv = nk.hrv(peaks, sampling_rate=int(round(fs)))
        except Exception:  # neurokit2 raises on degenerate beat series; the window stays NaN
            return out
    out[2:] = hrv.reindex(columns=list(HRV_COLUMNS)).to_numpy(dtype=np.float64)[0]
    return out


def heart_features(sig: np.ndarray, fs: float, centres: np.ndarray, kind: str = "ecg",
                   window_s: float = WINDOW_S) -> np.ndarray:
    """(W, 73) heart-rate and HRV features of windows centred at ``centres`` (s)."""
    peaks = beats(sig, fs, kind)
    bounds = window_slices(len(np.ravel(sig)), fs, centres, window_s)
    lo, hi = np.searchsorted(peaks, bounds[:, 0]), np.searchsorted(peaks, bounds[:, 1])
    rows = [_window_hrv(peaks[i:j] - a, fs) for (a, _), i, j in zip(bounds, lo, hi)]
    return np.array(rows).reshape(len(bounds), len(HEART_COLUMNS))


def eda_features(eda: np.ndarray, fs: float, centres: np.ndarray, window_s: float = WINDOW_S) -> np.ndarray:
    """(W, 4) neurokit2 interval features of windows centred at ``centres`` (s)."""
    import neurokit2 as nk

    eda = np.asarray(eda, dtype=np.float64).ravel()
    rate = int(round(fs))  # neurokit2 indexes lags with sampling_rate * seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        processed, _ = nk.eda_process(eda, sampling_rate=rate)
        bounds = window_slices(len(eda), fs, centres, window_s)
        rows = []
        for a, b in bounds:
            feats = nk.eda_intervalrelated(processed.iloc[a:b], sampling_rate=rate)
            rows.append(feats.reindex(columns=list(EDA_COLUMNS)).to_numpy(dtype=np.float64)[0])
    return np.array(rows).reshape(len(bounds), len(EDA_COLUMNS))


def emg_features(emg: np.ndarray, fs: float, centres: np.ndarray, window_s: float = WINDOW_S) -> np.ndarray:
    """(W, 14) EMG amplitude, spectral and peak features (see module docstring)."""
    x = np.asarray(emg, dtype=np.float64).ravel()
    raw = _stack(x, fs, centres, window_s)
    mean = raw.mean(axis=1)
    w = raw - mean[:, None]
    p10, med, p90 = np.percentile(w, [10, 50, 90], axis=1)
    freqs, psd = signal.welch(w, fs=fs, nperseg=min(1024, w.shape[1]), axis=1)
    cum = np.cumsum(psd, axis=1)
    f_mean = (psd * freqs).sum(axis=1) / psd.sum(axis=1)
    f_median = freqs[np.argmax(cum >= cum[:, -1:] / 2, axis=1)]
    f_peak = freqs[np.argmax(psd, axis=1)]
    peak_stats = []
    for row in np.abs(w):
        idx, _ = signal.find_peaks(row, height=row.mean() + 2 * row.std(), distance=max(1, int(0.05 * fs)))
        amp = row[idx]
        peak_stats.append((len(idx), amp.mean() if len(amp) else 0.0, amp.std() if len(amp) else 0.0, amp.sum()))
    return np.column_stack([mean, w.std(axis=1), np.ptp(w, axis=1),
                            np.abs(w).sum(axis=1) / fs, med, p10, p90, f_mean, f_median, f_peak,
                            np.array(peak_stats).reshape(len(w), 4)])


def acc_features(acc: np.ndarray, fs: float, centres: np.ndarray, window_s: float = ACC_WINDOW_S) -> np.ndarray:
    """(W, 12) mean, std and |integral| of x, y, z and the 3-D magnitude."""
    acc = np.asarray(acc, dtype=np.float64).reshape(len(acc), -1)[:, :3]
    full = np.column_stack([acc, np.linalg.norm(acc, axis=1)])
    w = _stack(full, fs, centres, window_s)  # (W, size, 4)
    stats = np.stack([w.mean(axis=1), w.std(axis=1), np.abs(w.sum(axis=1)) / fs], axis=2)  # (W, 4, 3)
    return stats.reshape(len(w), 12)


def temp_features(temp: np.ndarray, fs: float, centres: np.ndarray, window_s: float = WINDOW_S) -> np.ndarray:
    """(W, 6) mean, std, min, max, range and slope (°C/s, least squares) of temperature."""
    w = _stack(np.asarray(temp, dtype=np.float64).ravel(), fs, centres, window_s)
    t = np.arange(w.shape[1]) / fs
    tc = t - t.mean()
    slope = (w - w.mean(axis=1, keepdims=True)) @ tc / (tc @ tc)
    return np.column_stack([w.mean(axis=1), w.std(axis=1), w.min(axis=1), w.max(axis=1),
                            np.ptp(w, axis=1), slope])


def impute_columns(x: np.ndarray) -> np.ndarray:
    """NaN/inf replaced by the column median (0 where a column has no finite value)."""
    x = np.where(np.isfinite(x), x, np.nan)
    if not np.isnan(x).any():
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        med = np.nanmedian(x, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    return np.where(np.isnan(x), med, x)
