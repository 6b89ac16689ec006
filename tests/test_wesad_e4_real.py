"""``wesad-e4`` on the real shared recordings (15 subjects); skipped when the data are absent.

Features are extracted once per session with coarse windows (shift 120 s) into the user's
feature cache (``$MIXED_EMOTION_CACHE`` or ``~/.cache/mixed-emotion-benchmark``), so the first
run extracts (about a minute) and later runs read the cache.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

OPTIONS = {"shift": 120.0, "n_jobs": 2}


@pytest.fixture(scope="session")
def e4_root():
    return shared_data("wesad_e4")


@pytest.fixture(scope="session")
def e4(e4_root):
    from datasets import load_dataset

    return load_dataset("wesad-e4", data_root=str(e4_root), **OPTIONS)


def test_all_subjects_and_conditions(e4):
    from datasets.wesad_e4 import SUBJECTS

    assert sorted(set(e4.meta.subject)) == sorted(SUBJECTS)
    per = e4.meta.groupby("subject").condition.nunique()
    assert (per == 5).all(), per[per != 5]
    assert {m: x.shape[1:] for m, x in e4.modalities.items()} == {
        "bvp": (73,), "eda": (4,), "temp": (6,), "acc": (12,)}
    assert (e4.labels > 0).all() and np.allclose(e4.labels.sum(axis=1), 1)
    per_condition = pd.DataFrame(e4.labels).groupby([e4.meta.subject, e4.meta.trial]).nunique()
    assert (per_condition == 1).all().all()  # every window of a condition has its distribution
    offsets = np.array(list(e4.info["alignment"].values()))
    assert ((offsets > 15 * 60) & (offsets < 32 * 60)).all(), e4.info["alignment"]


def test_stress_is_arousing_under_the_alignment(e4, e4_root):
    """Raw EDA level or heart rate is higher in TSST than in baseline for most subjects."""
    from datasets.wesad_e4 import read_e4_csv
    from datasets.wesad_quest import parse_quest

    elevated = []
    for s, off in e4.info["alignment"].items():
        conds = {c.name: c for c in parse_quest(e4_root / s / f"{s}_quest.csv")}
        _, fs, eda = read_e4_csv(e4_root / s / f"{s}_E4_Data" / "EDA.csv")
        level = {k: eda[int((conds[k].start + off) * fs):int((conds[k].end + off) * fs)].mean()
                 for k in ("baseline", "stress")}
        m = e4.meta[e4.meta.subject == s]
        hr = {k: e4.modalities["bvp"][m.index[m.condition == k], 0].mean() for k in ("baseline", "stress")}
        elevated.append(level["stress"] > level["baseline"] or hr["stress"] > hr["baseline"])
    assert sum(elevated) >= 12, dict(zip(e4.info["alignment"], elevated))


def test_benchmark_runs_loso(e4, e4_root, tmp_path):
    from benchmark.runner import run
    from benchmark.spec import RunSpec
    from methods.registry import parse_methods

    cfg = RunSpec(methods=parse_methods("prior,aa-knn"), dataset="wesad-e4", protocol="loso",
                  preset="smoke", out=tmp_path / "run",
                  dataset_options={"data_root": str(e4_root), **OPTIONS})
    outcome = run(cfg)
    res = outcome.results
    assert len(outcome.failed) == 0, outcome.failed[["label", "error"]]
    assert len(res) == 2 * 15 and set(res.subject.astype(str)) >= {"S2", "S17"}
    assert np.isfinite(res.kl).all()
