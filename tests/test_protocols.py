import numpy as np
import pytest

from protocols import available_protocols, get_splitter
from protocols.splits import loso, subject_dependent


def _disjoint(f):
    assert not set(f.test) & set(f.train) and not set(f.test) & set(f.val) and not set(f.val) & set(f.train)


def test_window_split_80_20_per_subject(small_data):
    folds = subject_dependent(small_data.meta, seed=0, group="window", folds=1)
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


def test_default_holds_out_whole_trials_and_tests_every_trial_once(small_data):
    meta = small_data.meta
    trials, subj = meta["trial"].to_numpy(), meta["subject"].to_numpy()
    folds = subject_dependent(meta, seed=0)
    assert [f.block for f in folds] == [str(s) for s in meta["subject"].unique() for _ in range(5)]
    for subject in meta["subject"].unique():  # every trial of every subject tested exactly once
        tested = np.concatenate([trials[f.test] for f in folds if f.block == str(subject)])
        assert sorted(set(tested)) == sorted(set(trials[subj == subject]))
        assert len(tested) == (subj == subject).sum()


def test_one_fold_for_a_quick_look_holds_out_a_fifth_of_the_trials(small_data):
    meta = small_data.meta
    trials, subj = meta["trial"].to_numpy(), meta["subject"].to_numpy()
    folds = subject_dependent(meta, seed=0, folds=1)
    assert [f.block for f in folds] == [str(s) for s in meta["subject"].unique()]
    for f in folds:
        _disjoint(f)
        assert not set(trials[f.test]) & (set(trials[f.train]) | set(trials[f.val]))
        n_trials = len(set(trials[subj == int(f.block)]))
        assert len(set(trials[f.test])) in (n_trials // 5, -(-n_trials // 5))


def test_every_trial_tested_once_when_asked(small_data):
    meta = small_data.meta
    for repeats in (1, 2):
        folds = subject_dependent(meta, seed=0, folds=None, n_splits=4, repeats=repeats)
        for subject in meta["subject"].unique():
            mine = [f for f in folds if f.block == str(subject)]
            assert len(mine) == 4 * repeats
            tested = np.concatenate([f.test for f in mine])
            own = np.flatnonzero((meta["subject"] == subject).to_numpy())
            assert sorted(tested) == sorted(np.tile(own, repeats))


def test_kfold_refuses_windowed_subject_data_naming_the_grouped_protocols(small_data):
    from protocols import ProtocolError, check_data

    with pytest.raises(ProtocolError, match=r"'kfold'.*'small'.*subjects.*'subject-dependent'.*'loso'"):
        check_data("kfold", small_data.meta, "small", {})
    with pytest.raises(ProtocolError, match=r"'loso' needs at least 2 subjects; dataset 'one' has 1"):
        check_data("loso", small_data.meta[small_data.meta["subject"] == 0], "one", {})


def test_same_seed_same_folds_other_seed_differs(small_data):
    a, b, c = (subject_dependent(small_data.meta, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    assert not all(np.array_equal(x.test, y.test) for x, y in zip(a, c))


def test_unknown_protocol_lists_valid():
    assert "loso" in available_protocols()
    with pytest.raises(KeyError, match="subject-dependent"):
        get_splitter("kfold-typo")
