"""Raw DMER recordings: trigger pairing, packet CSVs, camera clips, PANAS checks, alignment."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from datasets import dmer_raw as dr
from datasets import load_dataset
from datasets.base import DataError

TRIAL_S = {"eeg": 6.0, "gsr": 6.5, "ppg": 7.2, "video": 8.0}  # per-trial recorded durations
L = 6  # floor of the shortest


def _events(n_trials=32):
    """Trigger codes of practice, rest, then trials (start, end each), as the recording script sends them."""
    codes = [60, 150, 50, 140]
    for v in range(n_trials):
        codes += [v + 10, v + 100]
    return codes


def _stream(fs, seconds, n_trials=32, gap=1.0):
    """(values, trigger channel) of one modality: each event pair spans ``seconds``, gaps between."""
    trg = []
    codes = _events(n_trials)
    for i in range(0, len(codes), 2):
        for c, n in ((codes[i], int(round(seconds * fs))), (codes[i + 1], int(gap * fs))):
            t = np.zeros(n)
            t[0] = c
            trg.append(t)
    trg = np.concatenate(trg)
    return np.arange(len(trg), dtype=float), trg  # value = sample index: shows which samples were kept


def test_trigger_pairing_and_count():
    _, trg = _stream(4, 6.5)
    b = dr.trial_bounds(*dr.trigger_events(trg), "x")
    assert list(b) == [40, *range(32)]
    assert all(e - s == 26 for s, e in b.values())
    # a held (multi-sample) trigger is one event
    held = trg.copy()
    held[np.flatnonzero(held)[5] + 1] = held[np.flatnonzero(held)[5]]
    assert dr.trial_bounds(*dr.trigger_events(held), "x") == b
    _, short = _stream(4, 6.5, n_trials=31)
    with pytest.raises(dr.SkipSubject, match="66 paired triggers, expected 68"):
        dr.trial_bounds(*dr.trigger_events(short), "raw_gsr.csv")


def test_packet_csv_marker_rows():
    # timestamp only on packet starts; a valueless marker row tags the next sample
    table = pd.DataFrame([[1000, 1.0, np.nan], [np.nan, 2.0, np.nan], [np.nan, np.nan, 60],
                          [1500, 3.0, np.nan], [np.nan, 4.0, 150]])
    values, trigger = dr.parse_packet_csv(table)
    np.testing.assert_array_equal(values, [1, 2, 3, 4])
    np.testing.assert_array_equal(trigger, [0, 0, 60, 150])


def test_camera_and_clip_frames():
    rows = [[-1, 0, 10_000]] + [[v, v + 10, 10_000 + 2000 * v + 500] for v in range(32)] \
        + [[v, v + 100, 10_000 + 2000 * v + 1500] for v in range(32)] + [[-1, 1, 99_000]]
    clips = dr.parse_camera(pd.DataFrame(rows), "camera.csv")
    assert clips[3] == pytest.approx((6.5, 7.5))
    assert dr.clip_frames(*clips[3]) == (195, 30)
    with pytest.raises(DataError, match="camera-start"):
        dr.parse_camera(pd.DataFrame(rows[1:]), "camera.csv")


def test_panas_labels_and_invalid_zero(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.integers(1, 6, (32, 10))
    rows = np.column_stack([np.arange(32)[::-1], scores[::-1]])
    p = tmp_path / "1_t_n_20_m_r_panas.csv"
    pd.DataFrame(np.vstack([[50, *[3] * 10], rows])).to_csv(p, header=False, index=False)  # practice row first
    labels = dr.parse_panas(dr.read_table(p, 11), str(p))
    np.testing.assert_allclose(labels, scores / scores.sum(axis=1, keepdims=True))
    rows[4, 7] = 0  # line 6 of the file (after the practice row)
    pd.DataFrame(np.vstack([[50, *[3] * 10], rows])).to_csv(p, header=False, index=False)
    with pytest.raises(DataError, match=r"panas\.csv: line 6 \(vid 27\): PANAS item 7 is 0"):
        dr.parse_panas(dr.read_table(p, 11), str(p))


def test_eeg_channel_selection():
    names = ["EEG P3-Pz", "EEG C3-Pz", "EEG F3-Pz", "EEG Fz-Pz", "EEG F4-Pz", "EEG C4-Pz", "EEG P4-Pz",
             "EEG Cz-Pz", "CM", "EEG A1-Pz", "EEG Fp1-Pz", "EEG Fp2-Pz", "EEG T3-Pz", "EEG T5-Pz", "EEG O1-Pz",
             "EEG O2-Pz", "EEG X3-Pz", "EEG X2-Pz", "EEG F7-Pz", "EEG F8-Pz", "EEG X1-Pz", "EEG A2-Pz",
             "EEG T6-Pz", "EEG T4-Pz", "Trigger"]
    data = np.arange(25)[:, None] * np.ones((1, 3))
    eeg, trg = dr.select_eeg_channels(names, data, "x.edf")
    assert eeg[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 18, 19, 22, 23]
    np.testing.assert_array_equal(trg, 24)


def _write_subject(root, name, n_trials=32, peri=True):
    import cv2

    d = root / name / name
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    scores = rng.integers(1, 6, (32, 10))
    pd.DataFrame(np.column_stack([np.arange(32), scores])).to_csv(
        d / f"{name}_x_y_20_m_r_panas.csv", index=False, header=["vid", *"abcdefghij"])
    for fname, fs, secs in (("raw_gsr.csv", 4, TRIAL_S["gsr"]), ("raw_ppg.csv", 100, TRIAL_S["ppg"])):
        vals, trg = _stream(fs, secs, n_trials)
        stamp = np.where(np.arange(len(vals)) % 5 == 0, np.arange(len(vals)) * 10.0, np.nan)
        table = pd.DataFrame({"t": stamp, "v": vals + 0.01 * rng.random(len(vals)), "trg": np.where(trg > 0, trg, np.nan)})
        (d / fname).write_text(table.to_csv(header=False, index=False) if peri else "")
    # camera: trial v runs 10 s apart, 8 s long; the video is a tiny 16 x 12 clip
    rows = [[-1, 0, 0]] + [[v, v + 10, 1000 * (2 + 10 * v)] for v in range(32)] + \
           [[v, v + 100, 1000 * (2 + 10 * v + TRIAL_S["video"])] for v in range(32)]
    pd.DataFrame(rows).to_csv(d / "camera.csv", header=False, index=False)
    w = cv2.VideoWriter(str(d / "face.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (16, 12))
    for i in range(30 * 322):
        w.write(np.full((12, 16, 3), (i * 7) % 256, np.uint8))
    w.release()
    (root / name / f"sub{name}").mkdir()
    (root / name / f"sub{name}" / f"{name}_raw.edf").write_bytes(b"")  # read by the patched reader
    return scores


def test_raw_release_loads_and_aligns(tmp_path, monkeypatch, caplog):
    scores = _write_subject(tmp_path, "1")
    _write_subject(tmp_path, "2", peri=False)
    _write_subject(tmp_path, "3", n_trials=31)
    _, trg = _stream(300, TRIAL_S["eeg"])
    eeg = 1e-5 * np.random.default_rng(2).standard_normal((18, len(trg)))
    monkeypatch.setattr(dr, "read_dsi24", lambda path: (eeg, trg))

    raw = dr.load_subject(tmp_path / "1")
    vid = raw.eeg_datas[-1]
    assert vid[0] == 40 and (np.bincount(vid[vid < 32].astype(int)) == L * 300).all()
    assert (np.bincount(raw.gsr_datas[-1][raw.gsr_datas[-1] < 32].astype(int)) == L * 4).all()
    # aligned to the trial end: the last L s before each end trigger
    _, gtrg = _stream(4, TRIAL_S["gsr"])
    ends = {v: e for v, (s, e) in dr.trial_bounds(*dr.trigger_events(gtrg), "x").items()}
    for v in (0, 17, 31):
        np.testing.assert_array_equal(np.floor(raw.gsr_datas[0, raw.gsr_datas[-1] == v]), np.arange(ends[v] - L * 4, ends[v]))
    assert raw.frames[5] == (int(52 * 30) + int(8 * 30) - L * 30, L * 30)
    np.testing.assert_allclose(raw.labels, scores / scores.sum(axis=1, keepdims=True))

    with caplog.at_level(logging.WARNING):
        data = load_dataset("dmer", data_root=str(tmp_path), source="raw", cache_dir=str(tmp_path / "cache"))
    assert data.info["excluded"] == {"2": "missing or empty raw_gsr.csv",
                                     "3": f"{tmp_path / '3' / '3' / 'raw_gsr.csv'}: 66 paired triggers, expected 68"}
    assert "subject 3 excluded" in caplog.text
    assert {m: x.shape[1:] for m, x in data.modalities.items()} == {
        "eeg": (18, 5), "gsr": (28,), "ppg": (27,), "video": (768,)}
    # L = 6 s: 6 - 4 EEG/video windows after the drop, (6 - 5) + 1 = 2 peripheral windows
    assert len(data) == 32 * 2 and set(data.meta.subject) == {"1"}
    np.testing.assert_allclose(data.labels.sum(axis=1), 1)


def test_the_dsi24_reader_reaches_the_edf_reader(tmp_path):
    """read_dsi24 once shared its name with the EDF reader it calls, and so called itself
    (TypeError on every real recording); a broken file must give the reader's DataError."""
    path = tmp_path / "s_raw.edf"
    path.write_bytes(b"not an EDF")
    with pytest.raises(DataError, match="s_raw.edf"):
        dr.read_dsi24(path)
