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
    # the documented refit convention: the kept winner is what a fresh fit on the training part gives
    train, val, test = data.subset(fold.train), data.subset(fold.val), data.subset(fold.test)
    refit = tuned.method.build(tuned.preset, random_state=tuned.method_seed, **t["chosen"]).fit(train, val)
    np.testing.assert_allclose(refit.predict(test), pred)


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
