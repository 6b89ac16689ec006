"""The shared tuner: candidates, selection on the inner validation split only, the record,
the job key, and the paper preset's rule."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.model_selection import ParameterSampler

from benchmark.jobs import Job, fingerprint
from benchmark.runner import prepare, run
from benchmark.spec import RunSpec
from benchmark.tuning import PAPER_BUDGET, budget, candidates, free_space
from benchmark.worker import execute
from methods.registry import MethodSpec, method_classes, method_parameters, parse_spec
from protocols import get_splitter

# Fixed spaces, so these tests check the tuner whatever spaces the methods declare.
KNN_SPACE = {"k": [1, 2, 3, 5, 8, 13]}
LRR_SPACE = {"lam": loguniform(1e-6, 1e-1), "beta": [1e-3, 1e-1, 1.0, 10.0, 100.0]}


@pytest.fixture
def spaces(monkeypatch):
    classes = method_classes()
    monkeypatch.setattr(classes["aa-knn"], "search_space", KNN_SPACE)
    monkeypatch.setattr(classes["ldl-lrr"], "search_space", LRR_SPACE)


@pytest.fixture(scope="module")
def kfold_data():
    from datasets.synthetic import make_synthetic

    data = make_synthetic(n_subjects=3, n_windows=4, seed=2)
    return data, get_splitter("kfold")(data.meta, n_splits=4)


def _job(spec: str, data, fold, tune: int, preset: str = "smoke") -> Job:
    return Job(method=parse_spec(spec), dataset="synthetic", dataset_options={},
               data_fingerprint=fingerprint(data), protocol="kfold", protocol_options={},
               fold=fold.index, block=fold.block, preset=preset, seed=0, tune=tune)


def _poisoned(data, fold):
    """``data`` with every test-part label replaced by a one-hot on its least likely emotion."""
    labels = data.labels.copy()
    garbage = np.eye(data.n_emotions)[labels[fold.test].argmin(axis=1)]
    labels[fold.test] = garbage
    return dataclasses.replace(data, labels=labels)


def test_candidates_default_first_grid_when_it_fits_else_seeded_sample():
    default = {"k": 4}
    cands, how = candidates(KNN_SPACE, default, 10, seed=0)
    assert how == "grid" and cands[0] == default and len(cands) == 7
    assert sorted(c["k"] for c in cands[1:]) == KNN_SPACE["k"]
    cands, how = candidates({"k": [1, 2, 3, 4, 5]}, default, 10, seed=0)
    assert how == "grid" and len(cands) == 5  # the default's grid point is not tried twice
    small, how = candidates(KNN_SPACE, default, 4, seed=0)
    assert how == "random" and len(small) == 4 and small[0] == default
    assert len({c["k"] for c in small}) == 4
    assert small == candidates(KNN_SPACE, default, 4, seed=0)[0]
    cont, how = candidates(LRR_SPACE, {"lam": 1e-3, "beta": 1.0}, 6, seed=3)
    assert how == "random" and len(cont) == 6
    assert all(1e-6 <= c["lam"] <= 1e-1 for c in cont[1:])
    assert candidates({}, default, 10, seed=0) == ([default], "none")
    assert candidates(KNN_SPACE, default, 1, seed=0) == ([default], "none")


def test_keys_fixed_by_the_variant_or_typed_parameters_are_not_searched(spaces):
    assert free_space(parse_spec("aa-knn")) == KNN_SPACE
    assert free_space(parse_spec("aa-knn[k=7]")) == {}
    assert set(free_space(parse_spec("ldl-lrr[beta=10]"))) == {"lam"}


def test_budget_rule_of_the_presets(monkeypatch):
    cls = method_classes()["ldl-lrr"]
    monkeypatch.setattr(cls, "tune_in_paper", True)
    assert budget(cls, "paper", None) == PAPER_BUDGET
    assert budget(cls, "quick", None) == 0
    assert budget(cls, "paper", 0) == 0 and budget(cls, "quick", 7) == 7
    monkeypatch.setattr(cls, "tune_in_paper", False)
    assert budget(cls, "paper", None) == 0


@pytest.mark.parametrize("spec", ["aa-knn", "ldl-lrr"])
def test_poisoned_test_labels_do_not_change_the_choice(spec, spaces, kfold_data):
    """No test-part sample reaches the selection: garbage test labels leave every candidate's
    validation score and the choice unchanged, while the test metrics do change."""
    data, folds = kfold_data
    fold = folds[1]
    job = _job(spec, data, fold, tune=5)
    clean, _ = execute(job, data, fold)
    dirty, _ = execute(job, _poisoned(data, fold), fold)
    assert clean["status"] == dirty["status"] == "ok", (clean.get("error"), dirty.get("error"))

    def selection(rec):
        return rec["tuning"]["chosen"], [(t["params"], t["val_kl"]) for t in rec["tuning"]["trace"]]

    assert selection(clean) == selection(dirty)
    assert len(clean["tuning"]["trace"]) == 5
    assert dirty["metrics"]["kl"] > clean["metrics"]["kl"]  # the poison did reach the test scoring


def test_trace_in_record_tune_in_key_and_winner_is_the_refit(spaces, kfold_data):
    data, folds = kfold_data
    fold = folds[0]
    tuned, untuned = _job("aa-knn", data, fold, tune=4), _job("aa-knn", data, fold, tune=0)
    assert tuned.config()["method"]["tune"] == 4 and "tune" not in untuned.config()["method"]
    assert tuned.key != untuned.key
    assert untuned.key == dataclasses.replace(untuned, tune=0).key  # untuned keys as before
    rec, pred = execute(tuned, data, fold)
    t = rec["tuning"]
    json.dumps(rec)  # the record is plain JSON
    assert t["budget"] == 4 and t["search"] == "random" and len(t["trace"]) == 4
    assert t["trace"][0]["default"] and t["trace"][0]["params"] == {"k": 4}
    assert all(e["fit_seconds"] >= 0 and e["val_kl"] >= 0 for e in t["trace"])
    assert t["val_kl"] == min(e["val_kl"] for e in t["trace"]) <= t["trace"][0]["val_kl"]
    assert t["seconds"] >= sum(e["fit_seconds"] for e in t["trace"])
    # the documented rule: AA-KNN does not use the validation part, so the winner's parameters
    # are refitted on the training and validation parts merged
    train, val, test = data.subset(fold.train), data.subset(fold.val), data.subset(fold.test)
    assert len(val) and rec["val_use"] == "merged" and rec["n_train"] == len(train) + len(val)
    refit = tuned.method.build(tuned.preset, random_state=tuned.method_seed, **t["chosen"])
    np.testing.assert_allclose(refit.fit(train.merged(val)).predict(test), pred)
    alone = tuned.method.build(tuned.preset, random_state=tuned.method_seed, **t["chosen"]).fit(train)
    assert not np.allclose(alone.predict(test), pred)  # the merge changed the model


def test_method_without_a_space_keeps_defaults_and_says_so(kfold_data):
    data, folds = kfold_data
    rec, pred = execute(_job("prior", data, folds[0], tune=6), data, folds[0])
    base, base_pred = execute(_job("prior", data, folds[0], tune=0), data, folds[0])
    assert rec["tuning"]["chosen"] == {} and rec["tuning"]["trace"] == []
    assert "no search space" in rec["tuning"]["note"]
    np.testing.assert_array_equal(pred, base_pred)


def test_run_plans_the_budget_per_method(spaces, tmp_path):
    cfg = RunSpec(methods=[MethodSpec("prior"), MethodSpec("aa-knn")], preset="smoke",
                    dataset_options={"n_subjects": 2, "n_windows": 3}, out=tmp_path / "run", tune=3)
    out = run(cfg)
    assert (out.results["status"] == "ok").all()
    assert all(r["config"]["method"]["tune"] == 3 and "tuning" in r for r in out.records)
    assert {j.key for j, _ in prepare(cfg)[2]} == {r["key"] for r in out.records}
    assert run(cfg).computed == 0  # resumes: a finished tuned job is not tuned again


def test_declared_search_spaces_are_searchable():
    """Every method's space names its own parameters and is what ParameterSampler takes."""
    for name, cls in method_classes().items():
        space = cls.search_space
        assert set(space) <= set(method_parameters(cls)), name
        if space:
            assert len(list(ParameterSampler(space, n_iter=2, random_state=0))) == 2, name


def test_cost_table_adds_tuning_time():
    import pandas as pd

    from reports.costs import cost_frame, cost_markdown

    f = cost_frame(pd.DataFrame({"label": ["A", "A", "B"], "status": ["ok"] * 3,
                                 "fit_seconds": [1.0, 1.0, 1.0], "predict_seconds": [0.1] * 3,
                                 "n_parameters": [1, 1, 1], "tune_seconds": [4.0, 6.0, None]}))
    assert f.at["A", "tune_total"] == pytest.approx(10.0) and np.isnan(f.at["B", "tune_total"])
    md = cost_markdown(f, "t")
    assert "Tune s total" in md and " 10.0 |" in md and " — |" in md


def test_a_tuned_job_starts_from_its_untuned_twin(kfold_data):
    """The default candidate of a tuned job is the untuned job: same seed, same model."""
    data, folds = kfold_data
    tuned, untuned = _job("mpcl", data, folds[0], tune=3), _job("mpcl", data, folds[0], tune=0)
    assert tuned.key != untuned.key and tuned.method_seed == untuned.method_seed


# ------------------------------------------------------------------ what the final model trains on
def test_a_method_that_ignores_validation_trains_on_all_non_test_data(kfold_data, monkeypatch):
    """The prior does not use the validation part: the runner fits it on train + val, the
    record says so, and predict is given the subject column only."""
    from methods.prior import Prior, trial_balanced_mean

    data, folds = kfold_data
    fold = folds[0]
    seen = []
    predict = Prior.predict

    def spy(self, test):
        seen.append((list(test.meta.columns), test.labels))
        return predict(self, test)

    monkeypatch.setattr(Prior, "predict", spy)
    rec, pred = execute(_job("prior", data, fold, tune=0), data, fold)
    assert rec["status"] == "ok", rec.get("error")
    assert seen == [(["subject"], None)]  # no label, no stimulus, trial or window
    assert rec["n_train"] == len(fold.train) + len(fold.val) and rec["val_use"] == "merged"
    val = data.subset(fold.val)
    assert rec["n_val"] == len(fold.val) > 0 and rec["n_val_subjects"] == val.meta["subject"].nunique()
    assert rec["n_val_trials"] == len(val.meta[["subject", "trial"]].drop_duplicates()) > 0
    merged = data.subset(np.r_[fold.train, fold.val])
    np.testing.assert_allclose(pred[0], trial_balanced_mean(merged))
    assert not np.allclose(pred[0], trial_balanced_mean(data.subset(fold.train)))


def test_the_oracle_alone_is_given_the_stimulus(kfold_data, monkeypatch):
    from methods.oracle import StimulusOracle

    data, folds = kfold_data
    seen = []
    predict = StimulusOracle.predict
    monkeypatch.setattr(StimulusOracle, "predict",
                        lambda self, test: seen.append(set(test.meta.columns)) or predict(self, test))
    rec, _ = execute(_job("oracle", data, folds[0], tune=0), data, folds[0])
    assert rec["status"] == "ok" and seen[0] >= {"subject", "trial", "window", "stimulus"}


class _Validating:
    """Mixin of test doubles: fit records what it was given."""

    def fit(self, train, val=None):
        self.given_ = (len(train), None if val is None else len(val))
        self.mean_ = train.labels.mean(axis=0)
        return self

    def predict(self, data):
        return np.tile(self.mean_, (len(data), 1))


def test_final_fit_rules(kfold_data):
    """merged / refit with the chosen setting / held out, as the tuning module documents."""
    from benchmark.tuning import final_fit
    from methods.base import BaseMethod
    from methods.tlr_dl import TLRDL

    data, folds = kfold_data
    train, val = data.subset(folds[0].train), data.subset(folds[0].val)

    class Stopper(_Validating, BaseMethod):
        def __init__(self, random_state=None):
            self.random_state = random_state

    method, _, fitted_on = final_fit(Stopper(), train, val)  # uses_validation defaults to True
    assert method.given_ == (len(train), len(val))
    assert fitted_on == {"n_train": len(train), "val_use": "held-out"}
    method, _, fitted_on = final_fit(Stopper(), train, None)
    assert method.given_ == (len(train), None) and fitted_on["val_use"] == "none"

    Ignorer = type("Ignorer", (Stopper,), {"uses_validation": False})
    method, _, fitted_on = final_fit(Ignorer(), train, val)
    assert method.given_ == (len(train) + len(val), None)
    assert fitted_on == {"n_train": len(train) + len(val), "val_use": "merged"}

    # TLR-DL chooses its ridge weight on the validation part, then is refitted on both with it
    selected = TLRDL(max_iter=5, random_state=0).fit(train, val)
    method, _, fitted_on = final_fit(TLRDL(max_iter=5, random_state=0), train, val)
    assert fitted_on == {"n_train": len(train) + len(val), "val_use": "refit"}
    assert method.lam == selected.lam_ and method.lam_ == selected.lam_
    fixed = TLRDL(lam=selected.lam_, max_iter=5, random_state=0).fit(train.merged(val))
    test = data.subset(folds[0].test)
    np.testing.assert_allclose(method.predict(test), fixed.predict(test))
