"""Loaders on miniature raw releases written here, including malformed files."""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from scipy.io import savemat

from core.files import default_mode
from datasets import load_dataset
from datasets.base import DataError
from datasets.wesad import PickleRejected, safe_load
from datasets.wesad_quest import DMER_SHARED_ITEMS, parse_quest

# Conditions (ORDER, START, END in minutes.seconds); 70 s each, 10 s apart.
ORDER = ["Base", "TSST", "Medi 1", "Fun", "Medi 2", "sRead"]
START = ["0.20", "1.40", "3.0", "4.20", "5.40", "0.2"]
END = ["1.30", "2.50", "4.10", "5.30", "6.50", "0.5"]
SPANS = [(20, 90), (100, 170), (180, 250), (260, 330), (340, 410)]
PROTOCOL_END = 410.0
CHEST_FS = 700


def write_quest(path, order=ORDER, start=START, end=END, panas_rows=None):
    rng = np.random.default_rng(0)
    rows = panas_rows or [";".join(str(v) for v in rng.integers(1, 6, 26 if o == "TSST" else 24))
                          for o in order[:5]]
    lines = [f"# Subj;{path.parent.name}", "# ORDER;" + ";".join(order), "# START;" + ";".join(start),
             "# END;" + ";".join(end), ";;;"] + [f"# PANAS;{r}" for r in rows] + [";;;", "# SSSQ;1;2"]
    path.write_text("\n".join(line + ";" * 3 for line in lines) + "\n")


def condition_signal(n, fs, value_by_condition):
    """A step signal: each condition's value in its interval (chest time), 0 elsewhere."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    for (a, b), v in value_by_condition:
        x[(t >= a) & (t < b)] = v
    return x


def chest_signals(seconds=420):
    nk = pytest.importorskip("neurokit2")
    n = seconds * CHEST_FS
    rng = np.random.default_rng(1)
    ecg = nk.ecg_simulate(duration=seconds, sampling_rate=CHEST_FS, heart_rate=70, method="simple", random_state=1)
    return {"ACC": rng.normal(0, 0.02, (n, 3)) + [0, 0, 1], "ECG": ecg[:n, None],
            "EMG": rng.normal(0, 0.1, (n, 1)), "EDA": 2 + 0.01 * rng.standard_normal((n, 1)),
            "Temp": np.full((n, 1), 33.0), "Resp": rng.normal(0, 1, (n, 1))}


def chest_labels(n):
    label = np.zeros(n, dtype=np.int64)
    for (a, b), lab in zip(SPANS, (1, 2, 4, 3, 4)):
        label[a * CHEST_FS:b * CHEST_FS] = lab
    return label


@pytest.fixture(scope="module")
def wesad_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("wesad")
    sig = chest_signals()
    n = len(sig["ECG"])
    for s in ("S2", "S3"):
        (root / s).mkdir()
        write_quest(root / s / f"{s}_quest.csv")
        with open(root / s / f"{s}.pkl", "wb") as f:
            pickle.dump({"subject": s, "signal": {"chest": sig, "wrist": {}}, "label": chest_labels(n)}, f, protocol=2)
    return root


def load_wesad(root, tmp_path, **kw):
    return load_dataset("wesad", data_root=str(root), shift=30.0, margin=0.0, cache_dir=str(tmp_path), **kw)


# ---------------------------------------------------------------- questionnaire
def test_quest_parsing(tmp_path):
    d = tmp_path / "S14"
    d.mkdir()
    rows = [";".join(["2"] * 24)] * 5
    rows[2] = ";".join(["3"] * 15 + ["Nan"] + ["3"] * 8)  # a missing answer (as S5)
    write_quest(d / "S14_quest.csv", order=["Base", "TSST", "Medi 2", "Fun", "Medi 1"],
                start=["7.1", "39.55", "70.19", "81.25", "93.38"],
                end=["26.32", "50.3", "77.1", "87.47", "100.15"], panas_rows=rows)
    conds = parse_quest(d / "S14_quest.csv")
    assert [c.name for c in conds] == ["baseline", "stress", "meditation2", "amusement", "meditation1"]
    assert conds[0].start == 7 * 60 + 10 and conds[1].end == 50 * 60 + 30 and conds[2].end == 77 * 60 + 10
    assert conds[2].panas["nervous"] == 2  # imputed: median of the other conditions
    assert conds[2].panas["sad"] == 3 and np.isnan(conds[2].panas["angry"])


def test_quest_errors(tmp_path):
    d = tmp_path / "S2"
    d.mkdir()
    write_quest(d / "S2_quest.csv", start=["1.75"] + START[1:])
    with pytest.raises(DataError, match="minutes.seconds"):
        parse_quest(d / "S2_quest.csv")
    write_quest(d / "S2_quest.csv", panas_rows=[";".join(["2"] * 20)] * 5)
    with pytest.raises(DataError, match="24 or 26"):
        parse_quest(d / "S2_quest.csv")


# ---------------------------------------------------------------- wesad (pickle)
def test_wesad_pickle_loads(wesad_root, tmp_path):
    data = load_wesad(wesad_root, tmp_path)
    assert {m: x.shape[1:] for m, x in data.modalities.items()} == {
        "ecg": (73,), "eda": (4,), "emg": (14,), "acc": (12,)}
    assert data.roles["ecg"] == "primary" and data.roles["acc"] == "behavioral"
    assert data.emotions == DMER_SHARED_ITEMS
    assert sorted(set(data.meta.subject)) == ["S2", "S3"]
    assert data.meta.groupby("subject").condition.nunique().eq(5).all()
    # 70 s conditions, 60 s windows every 30 s: 1 window each
    assert len(data) == 2 * 5 * 1
    hr = data.modalities["ecg"][:, 0]
    np.testing.assert_allclose(hr, 70, atol=2)
    # windows of one condition share its distribution
    assert (data.meta.assign(l0=data.labels[:, 0]).groupby(["subject", "trial"]).l0.nunique() == 1).all()


def _write_pkl(root, obj=None, raw=None):
    d = root / "S2"
    d.mkdir(exist_ok=True)
    write_quest(d / "S2_quest.csv")
    with open(d / "S2.pkl", "wb") as f:
        f.write(raw if raw is not None else pickle.dumps(obj, protocol=2))
    return d / "S2.pkl"


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > /dev/null",))


@pytest.fixture(scope="module")
def good_obj():
    sig = chest_signals()
    return {"subject": "S2", "signal": {"chest": sig, "wrist": {}}, "label": chest_labels(len(sig["ECG"]))}


@pytest.mark.parametrize("case,match", [
    ("truncated", "truncated or corrupt"),
    ("missing_key", "missing key 'signal/chest/ECG'"),
    ("wrong_shape", "signal/chest/ACC has shape"),
    ("zero_labels", "no condition"),
    ("malicious", "PickleRejected: .*(posix|os|nt).system.*refusing"),
])
def test_wesad_malformed_pickles(tmp_path, good_obj, case, match):
    root = tmp_path / "data"
    root.mkdir()
    obj = {"subject": "S2", "signal": {"chest": dict(good_obj["signal"]["chest"]), "wrist": {}},
           "label": good_obj["label"]}
    raw = None
    if case == "truncated":
        raw = pickle.dumps(obj, protocol=2)[:5000]
    elif case == "missing_key":
        del obj["signal"]["chest"]["ECG"]
    elif case == "wrong_shape":
        obj["signal"]["chest"]["ACC"] = obj["signal"]["chest"]["ACC"][:, :2]
    elif case == "zero_labels":
        obj["label"] = np.zeros_like(obj["label"])
    else:
        obj = {"subject": _Evil()}
    path = _write_pkl(root, obj, raw)
    with pytest.raises(DataError, match=match) as info:
        load_wesad(root, tmp_path / "cache")
    assert str(path) in str(info.value)


def test_safe_load_rejects_before_running_code(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": _Evil()}, protocol=2))
    with pytest.raises(PickleRejected, match="refusing"):
        safe_load(path)
    path.write_bytes(pickle.dumps({"a": np.arange(3.0), "b": [1, (2, "c")]}, protocol=2))
    obj = safe_load(path)
    np.testing.assert_array_equal(obj["a"], [0, 1, 2]) and obj["b"] == [1, (2, "c")]


def test_corrupt_subject_keeps_other_subjects_cache(wesad_root, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    for s in ("S2", "S3"):
        (root / s).mkdir()
        for f in (wesad_root / s).iterdir():
            (root / s / f.name).write_bytes(f.read_bytes())
    (root / "S3" / "S3.pkl").write_bytes((root / "S3" / "S3.pkl").read_bytes()[:1000])
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"S3\.pkl"):
        load_wesad(root, cache)
    kept = list((cache / "wesad").glob("S2-*.npz"))
    assert len(kept) == 1
    assert not list((cache / "wesad").glob("S3-*.npz"))
    # Not mkstemp's 0600: a cache shared by a group stays readable by it.
    assert kept[0].stat().st_mode & 0o777 == default_mode()


def test_missing_dataset_says_what_and_where(tmp_path):
    with pytest.raises(DataError, match="S2/S2_E4_Data|SX_E4_Data|no subject folders"):
        load_dataset("wesad-e4", data_root=str(tmp_path))
    (tmp_path / "S2").mkdir()
    write_quest(tmp_path / "S2" / "S2_quest.csv")
    with pytest.raises(DataError, match=r"BVP\.csv.*archive\.ics\.uci\.edu"):
        load_dataset("wesad-e4", data_root=str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("dmer", data_root=str(tmp_path / "nowhere"))


# ---------------------------------------------------------------- wesad-e4 (CSVs)
def _write_e4(d, offset, seconds, eda_by_condition):
    e4 = d / f"{d.name}_E4_Data"
    e4.mkdir()
    rng = np.random.default_rng(2)
    nk = pytest.importorskip("neurokit2")
    bvp = nk.ppg_simulate(duration=seconds, sampling_rate=64, heart_rate=80, random_state=2)
    eda = condition_signal(seconds * 4, 4, [((a + offset, b + offset), v) for (a, b), v in eda_by_condition]) + 1
    streams = {"BVP": (64, bvp[:, None]), "EDA": (4, eda[:, None] + 0.01 * rng.standard_normal((len(eda), 1))),
               "TEMP": (4, np.full((seconds * 4, 1), 32.0)), "ACC": (32, rng.integers(-5, 5, (seconds * 32, 3)) + [0, 0, 64])}
    for name, (fs, x) in streams.items():
        head = np.array([[1.5e9] * x.shape[1], [float(fs)] * x.shape[1]])
        np.savetxt(e4 / f"{name}.csv", np.vstack([head, x]), delimiter=",", fmt="%.6f")


def test_wesad_e4_end_anchored_alignment(tmp_path):
    offset, end_lag = 200, 60
    seconds = offset + int(PROTOCOL_END) + end_lag
    d = tmp_path / "S2"
    d.mkdir()
    write_quest(d / "S2_quest.csv")
    _write_e4(d, offset, seconds, [((100, 170), 5.0)])  # EDA high during TSST only
    data = load_dataset("wesad-e4", data_root=str(tmp_path), shift=30.0, margin=0.0, end_lag=end_lag,
                        cache_dir=str(tmp_path / "cache"))
    assert data.info["alignment"] == {"S2": pytest.approx(offset)}
    eda_sd = data.modalities["eda"][:, 2]  # tonic SD: flat inside conditions when aligned
    mean = data.modalities["temp"][:, 0]
    assert set(data.meta.condition) == {"baseline", "stress", "amusement", "meditation1", "meditation2"}
    np.testing.assert_allclose(mean, 32.0)
    assert np.all(eda_sd < 0.5)
    assert data.modalities["bvp"][:, 0] == pytest.approx(80, abs=3)
    # a wrong offset mixes conditions: stress windows then straddle the EDA step
    shifted = load_dataset("wesad-e4", data_root=str(tmp_path), shift=30.0, margin=0.0, offsets={"S2": offset - 40},
                           cache_dir=str(tmp_path / "cache"))
    assert shifted.modalities["eda"][shifted.meta.condition.eq("stress").to_numpy(), 2].max() > 1


# ---------------------------------------------------------------- dmer
def _dmer_subject(root, name, peri=True, label_shape=(32, 10), layout="files"):
    d = root / name
    d.mkdir()
    rng = np.random.default_rng(len(name))
    scores = rng.integers(1, 6, label_shape).astype(float)
    savemat(d / "datas.mat", {"dis_label": scores / scores.sum(axis=1, keepdims=True)})
    w = np.repeat(np.arange(32), 9)  # 9 one-second windows per trial
    if layout == "feas":
        p = np.repeat(np.arange(32), 5)
        savemat(d / "feas.mat", {"feas": rng.standard_normal((len(p), 913)), "vids": p})
        return d
    savemat(d / "eegfea.mat", {"feas": rng.standard_normal((len(w), 5, 18)), "vids": w})
    p = np.repeat(np.arange(32), 5)  # 5 s windows: 4 fewer per trial
    savemat(d / "perifea.mat", {"feas_gsr": rng.standard_normal((len(p), 28)) if peri else np.zeros((0, 0)),
                                "feas_ppg": rng.standard_normal((len(p), 27)) if peri else np.zeros((0, 0)), "vids": p})
    savemat(d / "videoFea.mat", {"lbps_all": rng.random((len(w), 768)), "vids": w})
    return d


def test_dmer_processed_release(tmp_path, caplog):
    _dmer_subject(tmp_path, "1")
    _dmer_subject(tmp_path, "2", layout="feas")
    _dmer_subject(tmp_path, "3", peri=False)
    with caplog.at_level(logging.WARNING):
        data = load_dataset("dmer", data_root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    assert "subject 3 excluded: empty GSR/PPG" in caplog.text
    assert data.info["excluded"] == {"3": "empty GSR/PPG features"}
    assert {m: x.shape[1:] for m, x in data.modalities.items()} == {
        "eeg": (18, 5), "gsr": (28,), "ppg": (27,), "video": (768,)}
    assert len(data) == 2 * 32 * 5
    assert set(data.meta.clip_type) == {"positive", "negative", "mixed"}


def test_dmer_bad_labels(tmp_path):
    _dmer_subject(tmp_path, "1", label_shape=(31, 10))
    with pytest.raises(DataError, match=r"datas\.mat: dis_label has shape \(31, 10\)"):
        load_dataset("dmer", data_root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    (tmp_path / "1" / "videoFea.mat").unlink()
    with pytest.raises(DataError, match="videoFea.mat"):
        load_dataset("dmer", data_root=str(tmp_path), cache_dir=str(tmp_path / "cache"))


def test_dmer_sample_layout(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(1, 6, (4, 10)).astype(float)
    labels /= labels.sum(axis=1, keepdims=True)
    part = lambda n, rows: {"eeg": rng.random((n, 18, 4)), "gsr": rng.random((n, 1, 4)),
                            "ppg": rng.random((n, 1, 4)), "video": rng.random((n, 32)), "label": labels[rows]}
    tr, te = part(6, [0, 0, 1, 1, 2, 2]), part(3, [3, 3, 0])
    savemat(tmp_path / "data_feature_sample.mat",
            {**{f"train_{k}": v for k, v in tr.items()}, **{f"test_{k}": v for k, v in te.items()}})
    data = load_dataset("dmer-sample", data_root=str(tmp_path))
    assert len(data) == 9 and data.meta.split.tolist() == ["train"] * 6 + ["test"] * 3
    assert data.meta.trial.nunique() == 4
    assert data.modalities["eeg"].shape[1:] == (18, 4)
