"""The ``ldl:`` loader (standard LDL .mat files) and the ``kfold`` protocol."""
import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from datasets import DataError, load_dataset
from protocols import get_splitter
from conftest import shared_data


def _write(tmp_path, name, features, labels):
    savemat(tmp_path / f"{name}.mat", {"features": features, "labels": labels})


def test_reads_features_and_labels_as_one_modality(tmp_path):
    labels = np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]])
    _write(tmp_path, "tiny", np.arange(6.0).reshape(3, 2), labels)
    d = load_dataset("ldl:tiny", data_root=tmp_path)
    assert list(d.modalities) == ["features"] and d.roles == {"features": "primary"}
    np.testing.assert_allclose(d.modalities["features"], np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(d.labels, labels)
    assert d.emotions == ("label_0", "label_1") and (d.valence == 1).all()
    assert (d.meta["subject"] == "all").all() and d.meta["trial"].is_unique


def test_rounding_is_renormalised_but_real_errors_name_file_and_row(tmp_path):
    _write(tmp_path, "rounded", np.zeros((2, 1)), np.array([[0.3, 0.7004], [0.5, 0.5]]))
    d = load_dataset("ldl:rounded", data_root=tmp_path)
    np.testing.assert_allclose(d.labels.sum(axis=1), 1.0, atol=1e-12)
    _write(tmp_path, "broken", np.zeros((3, 1)), np.array([[0.3, 0.7], [0.5, 0.5], [0.5, 0.6]]))
    with pytest.raises(DataError, match=r"broken\.mat.*row 2"):
        load_dataset("ldl:broken", data_root=tmp_path)


def test_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="looked for .*Nope.mat") as err:
        load_dataset("ldl:Nope", data_root=tmp_path)
    assert "PyLDL" in str(err.value) and "MIXED_EMOTION_DATA" in str(err.value)


def test_sjaffe_from_shared_data():
    root = shared_data("ldl")
    d = load_dataset("ldl:SJAFFE", data_root=root)
    assert d.modalities["features"].shape == (213, 243) and d.labels.shape == (213, 6)


def _meta(n):
    return pd.DataFrame({"subject": "all", "trial": np.arange(n), "window": 0})


def test_kfold_disjoint_covering_and_repeatable():
    meta = _meta(103)
    folds = get_splitter("kfold")(meta, seed=4, n_splits=10, repeats=2)
    assert len(folds) == 20 and folds[0].block == "r0f0" and folds[-1].block == "r1f9"
    for r in range(2):
        tests = np.concatenate([f.test for f in folds[10 * r: 10 * r + 10]])
        assert sorted(tests) == list(range(103)), "each sample is tested exactly once per repeat"
    for f in folds:
        assert not set(f.train) & set(f.test) and not set(f.val) & set(f.test)
        assert not set(f.train) & set(f.val) and len(f.val) > 0
        assert len(f.train) + len(f.val) + len(f.test) == 103
    again = get_splitter("kfold")(meta, seed=4, n_splits=10, repeats=2)
    assert all((a.test == b.test).all() and (a.val == b.val).all() for a, b in zip(folds, again))
    assert any(set(a.test) != set(b.test) for a, b in zip(folds[:10], folds[10:])), "repeats differ"
