import numpy as np
import pandas as pd
import pytest

from datasets import load_dataset
from datasets.base import DataError, FeatureSet


def _make(**over):
    n = 6
    kw = dict(
        modalities={"eeg": np.zeros((n, 2, 3)), "video": np.ones((n, 4))},
        roles={"eeg": "primary", "video": "behavioral"},
        labels=np.full((n, 2), 0.5), emotions=("a", "b"), valence=(1, -1),
        meta=pd.DataFrame({"subject": [7] * n, "trial": [0, 0, 1, 1, 2, 2], "window": [0, 1] * 3}),
        name="toy")
    kw.update(over)
    return FeatureSet(**kw)


def test_valid_set_is_read_only_and_concatenates():
    d = _make()
    assert d.concat_features().shape == (6, 10)
    with pytest.raises(ValueError):
        d.labels[0, 0] = 1.0


def test_label_row_off_simplex_names_subject_and_trial():
    labels = np.full((6, 2), 0.5)
    labels[3] = [0.7, 0.7]
    with pytest.raises(DataError, match=r"labels.*subject 7, trial 1, window 1"):
        _make(labels=labels)


def test_negative_label_rejected():
    labels = np.full((6, 2), 0.5)
    labels[0] = [1.5, -0.5]
    with pytest.raises(DataError, match="labels"):
        _make(labels=labels)


def test_nan_feature_names_modality_and_trial():
    x = np.ones((6, 4))
    x[4, 2] = np.nan
    with pytest.raises(DataError, match=r"modality 'video'.*trial 2"):
        _make(modalities={"eeg": np.zeros((6, 2, 3)), "video": x})


def test_shape_and_role_errors():
    with pytest.raises(DataError, match="5 rows"):
        _make(modalities={"eeg": np.zeros((5, 2, 3)), "video": np.ones((6, 4))})
    with pytest.raises(DataError, match="unknown role"):
        _make(roles={"eeg": "primary", "video": "visual"})
    with pytest.raises(DataError, match="meta lacks"):
        _make(meta=pd.DataFrame({"subject": [1] * 6}))


def test_without_primary_promotes_first_auxiliary(small_data):
    d = small_data.without("eeg")
    assert d.roles == {"gsr": "primary", "ppg": "auxiliary", "video": "behavioral"}
    assert "eeg" not in d.modalities and len(d) == len(small_data)
    with pytest.raises(DataError, match="no modality"):
        small_data.without("ecg")


def test_subset_keeps_alignment(small_data):
    idx = np.array([5, 2, 9])
    s = small_data.subset(idx)
    np.testing.assert_array_equal(s.labels, small_data.labels[idx])
    np.testing.assert_array_equal(s.modalities["eeg"], small_data.modalities["eeg"][idx])
    assert list(s.meta["window"]) == list(small_data.meta["window"].iloc[idx])


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(KeyError, match="synthetic"):
        load_dataset("nope")


def test_for_predict_keeps_features_and_the_declared_meta_only(small_wesad):
    from datasets.base import PREDICT_META

    assert PREDICT_META == ("subject",)
    view = small_wesad.for_predict()
    assert view.labels is None and list(view.meta.columns) == ["subject"]
    assert {"stimulus", "condition", "trial", "window"} <= set(small_wesad.meta.columns)
    for m, x in small_wesad.modalities.items():
        np.testing.assert_array_equal(view.modalities[m], x)
    np.testing.assert_array_equal(view.subjects, small_wesad.subjects)
    assert len(view.subset(np.arange(3))) == 3  # a method may still subset what it is given
    # labelled data still needs every meta column the protocols split on
    with pytest.raises(DataError, match=r"meta lacks column\(s\) \['trial', 'window'\]"):
        FeatureSet(modalities=view.modalities, roles=view.roles, labels=small_wesad.labels,
                   emotions=view.emotions, valence=view.valence, meta=view.meta)


def test_merged_appends_samples_in_order(small_data):
    a, b = small_data.subset(np.arange(10)), small_data.subset(np.arange(10, 25))
    both = a.merged(b)
    assert len(both) == 25 and both.meta["window"].tolist() == small_data.meta["window"][:25].tolist()
    np.testing.assert_array_equal(both.labels, small_data.labels[:25])
    assert a.merged(None) is a
    with pytest.raises(DataError, match="cannot merge"):
        a.merged(b.without(next(iter(b.modalities))))
