"""DMER EEG: filtering, optional ICA, differential entropy (DE) in five bands on 1 s windows.

Preprocessing follows the official EEGLAB pipeline (``PreprocessEEG.m``) with MNE: a 1-50 Hz
zero-phase FIR band-pass, a 50 Hz notch and, optionally, extended-Infomax ICA whose muscle and
eye components (ICLabel probability >= 0.9) are removed. ICLabel needs the optional package
``mne-icalabel``; without it ICA is skipped with a warning rather than removing components by a
different criterion.

DE follows ``fea4eeg.py`` in spirit, with its quirks corrected (docs/datasets.md, feature recipes): a Hann-
windowed STFT (``scipy.signal.stft``) over non-overlapping 1 s windows of the full ``fs``
samples (the official code truncates each 300-sample window to 256), band power as the mean
|X|^2 over the bins inside each band (no DC bin in delta, no bin shared by two bands), and
DE = ½ ln(2πe·P), the entropy of a Gaussian of variance P. Bands: δ 1-4, θ 4-8, α 8-14,
β 14-31, γ 31-50 Hz (half-open, the official edges).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import signal

RECIPE_VERSION = "eeg-de-1"
BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 14.0),
         "beta": (14.0, 31.0), "gamma": (31.0, 50.0)}
DMER_CHANNELS = ("P3", "C3", "F3", "Fz", "F4", "C4", "P4", "Cz", "Fp1", "Fp2", "T3", "T5",
                 "O1", "O2", "F7", "F8", "T6", "T4")


def preprocess(data: np.ndarray, fs: float, ch_names: list[str] | None = None,
               ica: bool = False, random_state: int = 0) -> np.ndarray:
    """Band-pass 1-50 Hz, notch 50 Hz and (optionally) ICA-clean ``data`` (channels, time), in volts."""
    import mne

    # A C-contiguous copy: mne's RawArray keeps the array it is given and filters it in place
    # (so the caller's data would be overwritten), and filters a non-contiguous array (a row
    # slice of a Fortran-ordered loadmat array, i.e. every datas.mat) wrongly.
    data = np.array(data, dtype=np.float64, order="C", copy=True)
    names = list(ch_names or [f"EEG{i:03d}" for i in range(len(data))])
    raw = mne.io.RawArray(data, mne.create_info(names, fs, ch_types="eeg"), verbose="error")
    raw.filter(1.0, 50.0, fir_design="firwin", phase="zero", verbose="error")
    if fs > 100:
        raw.notch_filter(50.0, verbose="error")
    if ica:
        _ica_clean(raw, random_state)
    return raw.get_data()


def _ica_clean(raw, random_state: int) -> None:
    """Remove muscle/eye components (ICLabel p >= 0.9) in place; skip without mne-icalabel."""
    try:
        from mne_icalabel import label_components
    except ImportError:
        warnings.warn("mne-icalabel is not installed: ICA artefact rejection skipped", stacklevel=3)
        return
    import mne

    raw.set_montage("standard_1020", on_missing="ignore")
    ica = mne.preprocessing.ICA(method="infomax", fit_params={"extended": True},
                                random_state=random_state, verbose="error")
    ica.fit(raw, verbose="error")
    labels = label_components(raw, ica, method="iclabel")
    bad = [i for i, (lab, p) in enumerate(zip(labels["labels"], labels["y_pred_proba"]))
           if lab in ("muscle artifact", "eye blink") and p >= 0.9]
    ica.apply(raw, exclude=bad, verbose="error")


def differential_entropy(data: np.ndarray, fs: float, window_s: float = 1.0) -> np.ndarray:
    """(W, channels, 5) DE of non-overlapping ``window_s`` windows of ``data`` (channels, time)."""
    data = np.atleast_2d(np.asarray(data, dtype=np.float64))
    n = int(round(window_s * fs))
    w = data.shape[1] // n
    if w == 0:
        return np.empty((0, data.shape[0], len(BANDS)))
    freqs, _, z = signal.stft(data[:, : w * n], fs=fs, window="hann", nperseg=n, noverlap=0,
                              boundary=None, padded=False, detrend=False)
    power = np.abs(z) ** 2  # (channels, freqs, W)
    de = []
    for lo, hi in BANDS.values():
        band = (freqs >= lo) & (freqs < hi)
        de.append(0.5 * np.log(2 * np.pi * np.e * power[:, band].mean(axis=1) + 1e-30))
    return np.stack(de, axis=-1).transpose(1, 0, 2)
