"""Synthetic DMER- and WESAD-shaped datasets, generated in memory from a seed.

The generator follows how the real labels are made: each (subject, trial) has latent positive
and negative affect (PA, NA); the subject rates the 10 PANAS items on an integer 1-5 scale from
those latents with a personal rating style (offset and spread); the ratings divided by their
sum are the target distribution. Mixed clips trade PA against NA (competition across valence),
items of one valence share their latent (co-occurrence within valence).

Features are nonlinear functions of the window's latent affect (trial latent plus a slow
window-to-window drift), plus a per-subject shift (what makes leave-one-subject-out harder than
the subject-dependent split), a per-trial "stimulus signature" (what makes random window splits
optimistic, as on DMER), and modality-specific noise that orders modalities by informativeness
(default as in the paper's Table V: video > EEG > GSR > PPG).

The meta column ``stimulus`` (read only by the stimulus oracle) is the clip (the trial index:
every subject sees the same clips) or, for ``synthetic-wesad``, the condition.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import register_dataset
from .base import FeatureSet
from core.params import Bool, Int, Real

PANAS10 = ("inspired", "alert", "excited", "enthusiastic", "determined",
           "afraid", "upset", "nervous", "scared", "distressed")
PANAS10_VALENCE = (1, 1, 1, 1, 1, -1, -1, -1, -1, -1)

# name -> (shape per sample, role, noise scale); smaller noise = more informative.
DMER_MODALITIES = {
    "eeg": ((18, 5), "primary", 1.0),
    "gsr": ((28,), "auxiliary", 1.6),
    "ppg": ((27,), "auxiliary", 2.2),
    "video": ((768,), "behavioral", 0.7),
}
WESAD_MODALITIES = {
    "ecg": ((73,), "primary", 1.0),
    "eda": ((4,), "auxiliary", 1.6),
    "emg": ((14,), "auxiliary", 2.2),
    "acc": ((12,), "behavioral", 0.7),
}
WESAD_CONDITIONS = ("baseline", "stress", "amusement", "meditation1", "meditation2")
# (PA, NA) centres of the WESAD conditions on [0, 1].
WESAD_CONDITION_AFFECT = {"baseline": (0.45, 0.15), "stress": (0.45, 0.75),
                          "amusement": (0.8, 0.1), "meditation1": (0.3, 0.1),
                          "meditation2": (0.3, 0.12)}


def _trial_affect(kind: str, rng: np.random.Generator) -> tuple[float, float]:
    """Latent (PA, NA) of one clip type: positive, negative or mixed."""
    if kind == "positive":
        return rng.beta(6, 2), rng.beta(1.5, 6)
    if kind == "negative":
        return rng.beta(1.5, 6), rng.beta(6, 2)
    u = rng.beta(3, 3)  # mixed: both present, competing for the same budget
    return 0.25 + 0.6 * u, 0.25 + 0.6 * (1 - u) + 0.05 * rng.standard_normal()


def _ratings(pa: float, na: float, style: tuple[float, float], loadings: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """Integer PANAS ratings 1..5 from latent affect and a subject's rating style."""
    offset, spread = style
    latent = np.where(np.array(PANAS10_VALENCE) > 0, pa, na)
    raw = 1 + 4 * (offset + spread * loadings * latent) + 0.35 * rng.standard_normal(len(latent))
    return np.clip(np.rint(raw), 1, 5)


def _trial_row(subject: int, trial: int, centre: tuple[float, float], jitter: float,
               style: tuple[float, float], loadings: np.ndarray, rng: np.random.Generator,
               **extra) -> dict:
    """One (subject, trial): the subject's latent affect around the trial's ``centre`` and
    the PANAS ratings it gives."""
    pa, na = (float(np.clip(v + jitter * rng.standard_normal(), 0, 1)) for v in centre)
    return dict(subject=subject, trial=trial, pa=pa, na=na,
                ratings=_ratings(pa, na, style, loadings, rng), **extra)


def _features(z: np.ndarray, subjects: np.ndarray, trials: np.ndarray, spec: dict,
              subject_shift: float, trial_signature: float, rng: np.random.Generator) -> dict:
    """Nonlinear modality features of window latents ``z`` (n, 2)."""
    n = len(z)
    n_subj, n_trial = subjects.max() + 1, trials.max() + 1
    basis = np.column_stack([z, z[:, :1] * z[:, 1:], z ** 2, np.sin(3 * z)])  # (n, 7)
    out = {}
    for name, (shape, _, noise) in spec.items():
        dim = int(np.prod(shape))
        w = rng.standard_normal((basis.shape[1], dim)) / np.sqrt(basis.shape[1])
        shift = subject_shift * rng.standard_normal((n_subj, dim))
        signature = trial_signature * rng.standard_normal((n_subj * n_trial, dim))
        x = np.tanh(2.0 * basis @ w) + shift[subjects] + signature[subjects * n_trial + trials]
        # Noise grows with sqrt(dim) so that informativeness is set by ``noise``, not by width
        # (768 video dimensions would otherwise average their noise away).
        x += noise * np.sqrt(dim / 30.0) * rng.standard_normal((n, dim))
        out[name] = x.astype(np.float32).reshape((n, *shape))
    return out


def _assemble(trial_table: pd.DataFrame, n_windows: int, spec: dict, name: str, drift: float,
              subject_shift: float, trial_signature: float, rng: np.random.Generator,
              extra_meta: dict | None = None) -> FeatureSet:
    """Expand per-trial latents and labels into windows and features."""
    rep = np.repeat(np.arange(len(trial_table)), n_windows)
    t = trial_table.iloc[rep].reset_index(drop=True)
    window = np.tile(np.arange(n_windows), len(trial_table))
    steps = drift * rng.standard_normal((len(t), 2))
    walk = np.cumsum(steps.reshape(len(trial_table), n_windows, 2), axis=1).reshape(-1, 2)
    z = t[["pa", "na"]].to_numpy() + walk
    subjects, trials = t["subject"].to_numpy(), t["trial"].to_numpy()
    mods = _features(z, subjects, trials, spec, subject_shift, trial_signature, rng)
    ratings = np.stack(t["ratings"].to_numpy())
    meta = pd.DataFrame({"subject": subjects, "trial": trials, "window": window})
    for col, values in (extra_meta or {}).items():
        meta[col] = t[values].to_numpy()
    return FeatureSet(modalities=mods, roles={m: s[1] for m, s in spec.items()},
                      labels=ratings / ratings.sum(axis=1, keepdims=True), emotions=PANAS10,
                      valence=np.array(PANAS10_VALENCE), meta=meta, name=name)


def _subject_styles(n_subjects: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    return [(0.05 * rng.standard_normal(), rng.uniform(0.55, 1.0)) for _ in range(n_subjects)]


_SHARED = {"seed": Int(low=0), "drift": Real(low=0), "subject_shift": Real(low=0),
           "trial_signature": Real(low=0), "n_windows": Int(low=1)}


@register_dataset("synthetic", "DMER-shaped synthetic data (the default; in memory, seeded)",
                  constraints={**_SHARED, "n_subjects": Int(low=1), "n_positive": Int(low=0),
                               "n_negative": Int(low=0), "n_mixed": Int(low=0), "full_scale": Bool()})
def make_synthetic(n_subjects: int = 16, n_positive: int = 8, n_negative: int = 8,
                   n_mixed: int = 16, n_windows: int = 8, seed: int = 0,
                   full_scale: bool = False, drift: float = 0.05, subject_shift: float = 0.8,
                   trial_signature: float = 0.3) -> FeatureSet:
    """DMER-shaped data: EEG (18×5, primary), GSR 28 and PPG 27 (auxiliary), video 768.

    ``full_scale=True`` matches DMER's size (73 subjects, 27 windows per trial).
    """
    if full_scale:
        n_subjects, n_windows = 73, 27
    rng = np.random.default_rng(seed)
    kinds = ["positive"] * n_positive + ["negative"] * n_negative + ["mixed"] * n_mixed
    clip_affect = [_trial_affect(k, rng) for k in kinds]  # shared by all subjects (same clips)
    loadings = rng.uniform(0.6, 1.0, len(PANAS10))
    rows = []
    for s, style in enumerate(_subject_styles(n_subjects, rng)):
        for c, (kind, centre) in enumerate(zip(kinds, clip_affect)):
            rows.append(_trial_row(s, c, centre, 0.1, style, loadings, rng, kind=kind))
    return _assemble(pd.DataFrame(rows), n_windows, DMER_MODALITIES, "synthetic", drift,
                     subject_shift, trial_signature, rng,
                     extra_meta={"clip_type": "kind", "stimulus": "trial"})


@register_dataset("synthetic-wesad", "WESAD-shaped synthetic data (ECG, EDA, EMG, ACC)",
                  constraints={**_SHARED, "n_subjects": Int(low=1)})
def make_synthetic_wesad(n_subjects: int = 15, n_windows: int = 24, seed: int = 0,
                         drift: float = 0.05, subject_shift: float = 0.8,
                         trial_signature: float = 0.3) -> FeatureSet:
    """WESAD-shaped data: 5 conditions per subject; ECG 73 (primary), EDA 4, EMG 14, ACC 12."""
    rng = np.random.default_rng(seed)
    loadings = rng.uniform(0.6, 1.0, len(PANAS10))
    rows = []
    for s, style in enumerate(_subject_styles(n_subjects, rng)):
        for c, cond in enumerate(WESAD_CONDITIONS):
            rows.append(_trial_row(s, c, WESAD_CONDITION_AFFECT[cond], 0.12, style, loadings, rng,
                                   condition=cond))
    return _assemble(pd.DataFrame(rows), n_windows, WESAD_MODALITIES, "synthetic-wesad", drift,
                     subject_shift, trial_signature, rng,
                     extra_meta={"condition": "condition", "stimulus": "condition"})
