"""The synthetic data has the properties the benchmark relies on."""
import time

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from datasets.synthetic import PANAS10, make_synthetic, make_synthetic_wesad
from methods.base import normalise_rows
from protocols.splits import loso, subject_dependent
from core.metrics import evaluate


@pytest.fixture(scope="module")
def default_set():
    return make_synthetic()


def test_default_shapes_and_generation_time():
    t0 = time.perf_counter()
    d = make_synthetic()
    assert time.perf_counter() - t0 < 2.0
    assert len(d) == 16 * 32 * 8
    assert {m: x.shape[1:] for m, x in d.modalities.items()} == {
        "eeg": (18, 5), "gsr": (28,), "ppg": (27,), "video": (768,)}
    assert d.roles == {"eeg": "primary", "gsr": "auxiliary", "ppg": "auxiliary", "video": "behavioral"}
    assert d.emotions == PANAS10
    assert (d.meta.groupby("subject")["trial"].nunique() == 32).all()
    assert d.meta["clip_type"].value_counts().to_dict() == {"mixed": 16 * 16 * 8, "positive": 8 * 16 * 8,
                                                             "negative": 8 * 16 * 8}


def test_wesad_shapes():
    d = make_synthetic_wesad()
    assert {m: x.shape[1:] for m, x in d.modalities.items()} == {
        "ecg": (73,), "eda": (4,), "emg": (14,), "acc": (12,)}
    assert d.meta.groupby("subject")["trial"].nunique().tolist() == [5] * 15


def test_labels_are_panas_ratios(default_set):
    per_trial = default_set.labels.reshape(16 * 32, 8, 10)
    assert np.allclose(per_trial, per_trial[:, :1])  # one distribution per trial
    d = per_trial[:, 0]
    # ratings r_i in 1..5 with d_i = r_i / sum(r): d / min(d) * min rating must be integer
    for row in d[:50]:
        total = next(t for t in range(10, 51) if np.allclose(row * t, np.rint(row * t), atol=1e-6))
        r = np.rint(row * total)
        assert r.min() >= 1 and r.max() <= 5 and r.sum() == total


def test_valence_correlation_structure(default_set):
    c = np.corrcoef(default_set.labels.T)
    v = default_set.valence
    same = (v[:, None] == v[None, :]) & ~np.eye(10, dtype=bool)
    assert c[same].mean() > 0
    assert c[v[:, None] != v[None, :]].mean() < 0


def _ridge_kl(d, folds, mods=None):
    x = np.concatenate([d.modalities[m].reshape(len(d), -1) for m in (mods or d.modalities)], axis=1)
    out = {"ridge": [], "prior": []}
    for f in folds:
        sc = StandardScaler().fit(x[f.train])
        pred = Ridge(alpha=300.0).fit(sc.transform(x[f.train]), d.labels[f.train]).predict(sc.transform(x[f.test]))
        out["ridge"].append(evaluate(d.labels[f.test], normalise_rows(np.clip(pred, 1e-3, None)))["kl"])
        prior = np.tile(d.labels[f.train].mean(0), (len(f.test), 1))
        out["prior"].append(evaluate(d.labels[f.test], prior)["kl"])
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_features_informative_loso_harder_modalities_ordered(default_set):
    d = default_set
    # the paper's window split: with whole trials held out the synthetic clips are unseen, and
    # subject-dependent is no easier than LOSO
    sd, lo = subject_dependent(d.meta, group="window"), loso(d.meta)
    sd_kl, lo_kl = _ridge_kl(d, sd), _ridge_kl(d, lo)
    assert sd_kl["ridge"] < 0.8 * sd_kl["prior"]
    assert lo_kl["ridge"] < lo_kl["prior"]
    assert sd_kl["ridge"] < lo_kl["ridge"]
    without = {m: _ridge_kl(d, sd, [x for x in d.modalities if x != m])["ridge"] for m in ("video", "ppg")}
    assert without["video"] > without["ppg"]


def test_seeded():
    a, b, c = make_synthetic(n_subjects=2, seed=3), make_synthetic(n_subjects=2, seed=3), make_synthetic(n_subjects=2, seed=4)
    np.testing.assert_array_equal(a.modalities["video"], b.modalities["video"])
    assert not np.array_equal(a.labels, c.labels)
