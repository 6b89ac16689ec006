"""A simulated DMER release read end to end by the real readers (no reader is patched).

One release of five subjects with short clips and a small face video is written once by the
command shown in docs/datasets.md: subjects 1 and 2 are intact, 3 has no wristband, 4 a broken
trigger count, 5 a PANAS entry stored as 0. The tests check that the raw, aligned-signal and
feature levels give the same feature set (video within a stated tolerance: the face video is
re-encoded as clips, and mp4v is lossy), that each damage excludes its subject with its reason,
and that ``prepare`` and ``run`` work on every level.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasets import load_dataset

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "datasets.md"
# LBP-TOP of a clip re-encoded from the same frames: per window, the L1 distance of the three
# 256-bin histograms (each sums to 1, so at most 6). Measured: at most 0.12 on this release;
# windows of other trials are typically more than 1 apart (the median is checked below).
VIDEO_L1 = 0.25
LEVELS = {"raw": ("raw", "raw"), "signals": ("aligned", "signals"), "features": ("aligned", "features"),
          "combined": ("combined", "features")}


def doc_commands(section: str) -> list[str]:
    """The ``python -m benchmark`` lines of the bash block under ``section`` of docs/datasets.md."""
    text = DOC.read_text()
    body = text.split(section, 1)[1]
    block = re.search(r"```bash\n(.*?)```", body, re.S).group(1)
    return [line for line in block.splitlines() if line.startswith("python -m benchmark")]


def cli(args: list[str], tmp: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1",
           "MIXED_EMOTION_CACHE": str(tmp / "cache")}
    p = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=tmp, capture_output=True,
                       text=True, env=env, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """The documented release, written under a temporary ``runs/``."""
    tmp = tmp_path_factory.mktemp("dmer-sim")
    (simulate,) = [c for c in doc_commands("## A simulated release") if " simulate " in c]
    cli(shlex.split(simulate)[3:], tmp)
    return tmp


def load(release: Path, level: str):
    folder, source = LEVELS[level]
    return load_dataset("dmer", data_root=str(release / "runs" / "dmer-sim" / folder), source=source,
                        cache_dir=str(release / "cache"))


def test_release_layout_and_formats(release):
    import edfio

    root = release / "runs" / "dmer-sim"
    raw = root / "raw" / "1"
    edf = edfio.read_edf(raw / "sub1" / "1_raw.edf")
    assert len(edf.signals) == 25 and edf.signals[24].label == "Trigger"
    assert edf.signals[0].label == "EEG P3-Pz" and edf.signals[0].sampling_frequency == 300
    trg = edf.signals[24].data
    assert (trg > 0).sum() == 68  # practice, rest and 32 trials, start and end
    assert (edfio.read_edf(root / "raw" / "4" / "sub4" / "4_raw.edf").signals[24].data > 0).sum() == 67
    gsr = pd.read_csv(raw / "raw_gsr.csv", header=None)
    markers = gsr[gsr[1].isna()]
    assert len(markers) == 68 and markers[2].notna().all()  # marker rows: no value, a code
    samples = gsr[gsr[1].notna()]
    assert samples[0].notna().sum() == int(np.ceil(len(samples) / 4))  # timestamps on packet heads only
    import cv2

    cap = cv2.VideoCapture(str(raw / "1_face.mp4"))
    assert cap.get(cv2.CAP_PROP_FPS) == 30 and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 64
    cap.release()
    panas = next(raw.glob("1_*_panas.csv"))
    table = pd.read_csv(panas)
    assert list(table.columns[:2]) == ["vid", "Inspired"] and table.vid.iloc[0] == 50 and len(table) == 33
    assert (root / "raw" / "3" / "raw_gsr.csv").exists() is False
    assert not (root / "aligned" / "4").exists() and not (root / "aligned" / "5").exists()
    truth = json.loads((root / "truth.json").read_text())
    assert [s["damage"] for s in truth["subjects"]] == [None, None, "no-wristband", "broken-triggers", "bad-panas"]


def test_levels_give_the_same_feature_set(release):
    sets = {level: load(release, level) for level in LEVELS}
    ref = sets["signals"]
    truth = json.loads((release / "runs" / "dmer-sim" / "truth.json").read_text())
    ratings = np.array(truth["subjects"][0]["ratings"], dtype=float)
    sub1 = ref.meta.subject.to_numpy() == "1"
    np.testing.assert_allclose(ref.labels[sub1], (ratings / ratings.sum(1, keepdims=True))[ref.meta.trial[sub1]])
    # windows per trial: L - 4 with L the aligned length the generator recorded
    counts = ref.meta[sub1].groupby("trial").size().to_numpy()
    np.testing.assert_array_equal(counts, np.array(truth["subjects"][0]["aligned_seconds"]) - 4)
    for level, data in sets.items():
        assert set(data.meta.subject) == {"1", "2"}, level
        pd.testing.assert_frame_equal(data.meta[["subject", "trial", "window"]], ref.meta[["subject", "trial", "window"]])
        np.testing.assert_allclose(data.labels, ref.labels, atol=1e-12)
        for m in ("eeg", "gsr", "ppg"):
            np.testing.assert_allclose(data.modalities[m], ref.modalities[m], rtol=1e-5, atol=1e-5, err_msg=f"{level} {m}")
        l1 = np.abs(data.modalities["video"].astype(float) - ref.modalities["video"]).sum(axis=1)
        assert l1.max() <= (VIDEO_L1 if level == "raw" else 1e-6), (level, l1.max())
    # the tolerance separates: against windows of other trials, the raw video is far outside it
    half = len(ref) // 2
    shifted = np.abs(np.roll(sets["raw"].modalities["video"], half, axis=0) - ref.modalities["video"]).sum(axis=1)
    assert np.median(shifted) > 4 * VIDEO_L1


def test_each_damage_excludes_its_subject_with_the_reason(release, caplog):
    with caplog.at_level(logging.WARNING):
        raw = load(release, "raw")
    excluded = raw.info["excluded"]
    assert set(excluded) == {"3", "4", "5"}
    assert excluded["3"] == "missing or empty raw_gsr.csv"
    assert re.fullmatch(r".*4_raw\.edf: 66 paired triggers, expected 68", excluded["4"])
    assert re.fullmatch(r".*5_\w+_panas\.csv: line \d+ \(vid \d+\): PANAS item 4 is 0, expected an integer "
                        r"1\.\.5 \(0 = invalid input at recording\)", excluded["5"])
    for sid in "345":
        assert f"subject {sid} excluded" in caplog.text
    assert load(release, "signals").info["excluded"] == {"3": "empty gsr_datas"}
    assert load(release, "features").info["excluded"] == {"3": "empty GSR/PPG features"}


@pytest.mark.slow  # eight CLI processes (prepare + run on four levels): about 2 min
def test_prepare_and_run_on_every_level(release):
    """The documented prepare and run commands, on each level: same metrics where the features
    are the same numbers; the excluded subjects named on the way."""
    prepare, run = (next(c for c in doc_commands("## A simulated release") if f" {k} " in c) for k in ("prepare", "run"))
    results = {}
    for level, (folder, source) in LEVELS.items():
        swap = lambda c: c.replace("dmer-sim/raw", f"dmer-sim/{folder}").replace("source=raw", f"source={source}") \
            .replace("dmer-sim-raw", f"dmer-sim-{level}")
        p = cli(shlex.split(swap(prepare))[3:], release)
        assert "dmer: 2 subjects" in p.stdout.replace("windows, ", "").split(";")[0] or ", 2 subjects," in p.stdout
        if level != "combined":
            assert "subject 3 excluded" in p.stderr, p.stderr
        p = cli(shlex.split(swap(run))[3:], release)
        res = pd.read_csv(release / "runs" / f"dmer-sim-{level}" / "results.csv")
        assert (res.status == "ok").all() and set(res.subject.astype(str)) == {"1", "2"}
        results[level] = res.sort_values(["method", "subject", "fold"]).reset_index(drop=True)
    cols = ["chebyshev", "clark", "canberra", "kl", "cosine", "intersection"]
    for level in ("features", "combined"):
        np.testing.assert_allclose(results[level][cols], results["signals"][cols], rtol=1e-6)
    np.testing.assert_array_equal(results["raw"].n_test, results["signals"].n_test)
