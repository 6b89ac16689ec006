import numpy as np
import pytest

from protocols import available_protocols, get_splitter
from protocols.splits import loso, subject_dependent


def _disjoint(f):
    assert not set(f.test) & set(f.train) and not set(f.test) & set(f.val) and not set(f.val) & set(f.train)


def test_subject_dependent_80_20_per_subject(small_data):
    folds = subject_dependent(small_data.meta, seed=0)
    subj = small_data.meta["subject"].to_numpy()
    assert len(folds) == 4
    for f in folds:
        _disjoint(f)
        owner = set(subj[np.concatenate([f.train, f.val, f.test])])
        assert owner == {int(f.block)}
        n = (subj == int(f.block)).sum()
        assert abs(len(f.test) - 0.2 * n) <= 1 and len(f.val) > 0


def test_group_trial_keeps_trials_whole(small_data):
    meta = small_data.meta
    for f in subject_dependent(meta, seed=0, group="trial"):
        _disjoint(f)
        trials = meta["trial"].to_numpy()
        assert not set(trials[f.test]) & set(trials[f.train])
        assert not set(trials[f.val]) & set(trials[f.train])


def test_loso_holds_out_subjects_and_validates_on_other_subjects(small_data):
    subj = small_data.meta["subject"].to_numpy()
    folds = loso(small_data.meta, seed=0)
    assert [f.block for f in folds] == ["0", "1", "2", "3"]
    for f in folds:
        _disjoint(f)
        assert set(subj[f.test]) == {int(f.block)}
        assert int(f.block) not in set(subj[f.train]) | set(subj[f.val])
        assert not set(subj[f.val]) & set(subj[f.train])


def test_same_seed_same_folds_other_seed_differs(small_data):
    a, b, c = (subject_dependent(small_data.meta, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    assert not all(np.array_equal(x.test, y.test) for x, y in zip(a, c))


def test_unknown_protocol_lists_valid():
    assert "loso" in available_protocols()
    with pytest.raises(KeyError, match="subject-dependent"):
        get_splitter("kfold-typo")
