"""Runner: records, resume, failure isolation, determinism across backends."""
from __future__ import annotations

import inspect
import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmark.rundir import RunDir
from benchmark.runner import run
from benchmark.spec import RunSpec
from methods import registry
from methods.base import BaseMethod
from methods.registry import MethodSpec, parse_methods


class _Broken(BaseMethod):
    """Test double: raises, returns garbage, or sleeps, depending on ``mode``."""

    family = "reference"

    def __init__(self, mode="raise", random_state=None):
        self.mode = mode
        self.random_state = random_state

    def fit(self, train, val=None):
        if self.mode == "raise":
            raise RuntimeError("boom in fit")
        if self.mode == "sleep":
            time.sleep(5)
        return self

    def predict(self, data):
        return np.full((len(data), data.n_emotions), 0.5)  # rows sum to 5, not 1


@pytest.fixture
def broken(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "broken", _Broken)
    _Broken.name, _Broken.display = "broken", "Broken"
    return _Broken


def _cfg(tmp_path, methods="prior,aa-knn", **kw):
    # one fold per subject (the quick look): these tests are about the runner, not the design
    kw.setdefault("protocol_options", {"folds": 1})
    return RunSpec(methods=parse_methods(methods), preset="smoke", out=tmp_path / "run", **kw)


def test_run_writes_records_results_and_resumes(tmp_path):
    first = run(_cfg(tmp_path))
    assert first.computed == 8 and (first.results["status"] == "ok").all()
    res = pd.read_csv(tmp_path / "run" / "results.csv")
    for col in ["dataset", "protocol", "fold", "subject", "method", "variant", "seed", "status",
                "n_train", "n_test", "fit_seconds", "predict_seconds", "chebyshev", "clark",
                "canberra", "kl", "cosine", "intersection"]:
        assert col in res.columns
    rec = json.loads(next((tmp_path / "run" / "records").glob("*.json")).read_text())
    assert {"git_commit", "versions", "host"} <= set(rec["provenance"]) and rec["started"] and rec["finished"]
    again = run(_cfg(tmp_path))
    assert again.computed == 0
    pd.testing.assert_frame_equal(again.results, first.results)


def test_adding_a_method_runs_only_its_jobs(tmp_path):
    run(_cfg(tmp_path, methods="prior"))
    out = run(_cfg(tmp_path, methods="prior,aa-knn"))
    assert out.computed == 4 and len(out.results) == 8


def test_failures_are_isolated_and_recorded(tmp_path, broken):
    cfg = _cfg(tmp_path, methods="prior")
    cfg.methods.append(MethodSpec("broken"))
    out = run(cfg)
    assert (out.results.query("method == 'prior'")["status"] == "ok").all()
    bad = out.results.query("method == 'broken'")
    assert (bad["status"] == "failed").all() and bad["error"].str.contains("boom in fit").all()
    cfg.methods[-1] = MethodSpec("broken", params={"mode": "garbage"})
    out = run(cfg)
    bad = out.results.query("method == 'broken'")
    assert (bad["status"] == "invalid").all() and bad["error"].str.contains("sum to 1").all()


def test_time_limit_records_timeout(tmp_path, broken):
    cfg = _cfg(tmp_path, methods="prior", time_limit=0.3)
    cfg.methods.append(MethodSpec("broken", params={"mode": "sleep"}))
    t0 = time.perf_counter()
    out = run(cfg)
    assert time.perf_counter() - t0 < 20
    assert (out.results.query("method == 'broken'")["status"] == "timeout").all()


def test_truncated_record_is_detected_and_rerun(tmp_path):
    run(_cfg(tmp_path))
    victim = sorted((tmp_path / "run" / "records").glob("*.json"))[0]
    victim.write_text(victim.read_text()[:40])
    out = run(_cfg(tmp_path))
    assert out.computed == 1 and out.invalid_records == [str(victim)]
    assert json.loads(victim.read_text())["status"] == "ok"


def test_same_metrics_for_one_and_two_workers(tmp_path):
    a = run(_cfg(tmp_path / "a", methods="aa-knn"))
    b = run(_cfg(tmp_path / "b", methods="aa-knn", n_jobs=2))
    cols = ["fold", "kl", "cosine", "chebyshev"]
    pd.testing.assert_frame_equal(a.results[cols].sort_values("fold").reset_index(drop=True),
                                  b.results[cols].sort_values("fold").reset_index(drop=True))


def test_dask_local_cluster_same_metrics(tmp_path):
    a = run(_cfg(tmp_path / "a", methods="aa-knn"))
    b = run(_cfg(tmp_path / "b", methods="aa-knn", dask_local=2))
    cols = ["fold", "kl", "cosine"]
    pd.testing.assert_frame_equal(a.results[cols].sort_values("fold").reset_index(drop=True),
                                  b.results[cols].sort_values("fold").reset_index(drop=True))


def test_load_run_reports_missing(tmp_path):
    run(_cfg(tmp_path))
    victim = sorted((tmp_path / "run" / "records").glob("*.json"))[0]
    victim.unlink()
    manifest, records, missing = RunDir(tmp_path / "run").load()
    assert len(records) == 7 and missing == [victim.stem]


def test_job_keys_change_with_config(tmp_path):
    from benchmark.runner import prepare

    def keys(cfg):
        return {j.key for j, _ in prepare(cfg)[2]}

    cfg = _cfg(tmp_path, methods="aa-knn")
    base = keys(cfg)
    assert base.isdisjoint(keys(replace(cfg, methods=[MethodSpec("aa-knn", params={"k": 5})])))
    assert base.isdisjoint(keys(replace(cfg, seeds=(1,))))


def test_a_method_key_follows_the_helpers_it_imports(tmp_path, monkeypatch):
    """A method's source hash covers what its module imports from the suite and from its own
    package (relatively or by name), so an edit to a helper (PT-SVM's svm_probability, the
    oracle's prior, a plugin's own module) gives new keys instead of reusing records the old
    helper computed."""
    import importlib
    from pathlib import Path

    from benchmark.jobs import ROOT, source_files, source_hash

    classes = registry.method_classes()
    used = {name: {f.relative_to(ROOT).as_posix() for f in
                   source_files(Path(inspect.getsourcefile(classes[name])).resolve())}
            for name in ("pt-svm", "oracle", "aa-knn")}
    assert {"methods/svm_probability.py", "methods/pt_svm.py", "methods/base.py"} <= used["pt-svm"]
    assert "methods/prior.py" in used["oracle"]
    assert "methods/svm_probability.py" not in used["aa-knn"]

    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("SCALE = 1.0\n")
    (pkg / "unrelated.py").write_text("X = 1\n")
    (pkg / "absolute.py").write_text("Y = 1\n")
    (pkg / "method.py").write_text(
        "from methods.base import BaseMethod\n"
        "from plugpkg.absolute import Y\n\n"
        "class Plug(BaseMethod):\n"
        "    def fit(self, train, val=None):\n"
        "        from .helper import SCALE\n"
        "        return self\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = importlib.import_module("plugpkg.method").Plug

    def fresh_hash():
        source_files.cache_clear()
        source_hash.cache_clear()
        return source_hash(cls)

    before = fresh_hash()
    (pkg / "unrelated.py").write_text("X = 2\n")
    assert fresh_hash() == before
    (pkg / "helper.py").write_text("SCALE = 2.0\n")
    assert fresh_hash() != before
    before = fresh_hash()
    (pkg / "absolute.py").write_text("Y = 2\n")
    assert fresh_hash() != before


def test_seeds_redraw_the_partition_unless_the_split_seed_is_fixed(tmp_path):
    """AA-KNN is deterministic: with one partition per seed its results differ between seeds
    only because the test parts differ; with a fixed split seed they are identical."""
    redrawn = run(_cfg(tmp_path, methods="aa-knn", seeds=(0, 1), references=False)).results
    by_seed = [g.sort_values("fold")["kl"].to_numpy() for _, g in redrawn.groupby("seed")]
    assert not np.allclose(*by_seed)
    assert (redrawn["split_seed"] == redrawn["seed"]).all()
    keys = {r["protocol"]["indices"] for r in
            (json.loads(p.read_text())["config"] for p in (tmp_path / "run" / "records").glob("*.json"))}
    assert len(keys) == len(redrawn)  # every job its own fold indices
    fixed = run(RunSpec(methods=parse_methods("aa-knn"), preset="smoke", seeds=(0, 1), split_seed=7,
                          out=tmp_path / "fixed")).results
    by_seed = [g.sort_values("fold")["kl"].to_numpy() for _, g in fixed.groupby("seed")]
    np.testing.assert_array_equal(*by_seed)
    assert (fixed["split_seed"] == 7).all()


def test_results_carry_the_trial_balanced_mean(tmp_path):
    res = run(_cfg(tmp_path, methods="prior")).results
    assert {f"{m}_trial" for m in ("kl", "chebyshev")} <= set(res.columns)
    assert (res["n_test_trials"] > 0).all() and (res["n_test"] >= res["n_test_trials"]).all()


def test_a_changed_metric_definition_rescores_stored_predictions(tmp_path, monkeypatch):
    """Metrics are stamped with the version of their definitions; a record scored by other
    definitions is re-scored from its stored predictions and labels when the run is re-run,
    without retraining (docs/reproducibility.md: records never go stale)."""
    from benchmark import records
    from core import metrics

    first = run(_cfg(tmp_path, methods="aa-knn", references=False))
    monkeypatch.setitem(metrics._METRICS, "kl", (lambda d, p: 2 * metrics.kl(d, p), False))
    records.metrics_version.cache_clear()
    monkeypatch.setattr(records, "metrics_version", lambda: "a-new-definition")
    again = run(_cfg(tmp_path, methods="aa-knn", references=False))
    assert again.computed == 0 and len(again.rundir.rescored) == len(first.records)
    np.testing.assert_allclose(again.results["kl"], 2 * first.results["kl"])
    np.testing.assert_allclose(again.results["chebyshev"], first.results["chebyshev"])
    stored = json.loads(RunDir(tmp_path / "run").record_path(first.records[0]["key"]).read_text())
    assert stored["metrics_version"] == "a-new-definition"


def test_paper_runs_use_deterministic_algorithms_unless_told_otherwise(tmp_path):
    from benchmark.runner import prepare
    from benchmark.spec import build

    def flags(**kw):
        spec = build(methods="prior", out=tmp_path / "x", dataset_options={"n_subjects": 2, "n_windows": 2}, **kw)
        return {j.deterministic for j, _ in prepare(spec)[2]}

    assert flags(preset="paper") == {True} and flags(preset="smoke") == {False}
    assert flags(preset="paper", deterministic=False) == {False}


@pytest.mark.parametrize("dataset, n_jobs, pooled", [("wesad-e4", 2, True), ("wesad-e4", 1, False),
                                                      ("synthetic", 2, False)])
def test_a_run_extracts_per_subject_features_with_its_workers(monkeypatch, dataset, n_jobs, pooled):
    """A loader that extracts per subject fills its cache with the run's workers (as `prepare
    --n-jobs` does); ``n_jobs`` stays out of the options that key the jobs. A one-piece loader, or
    a serial run, reads in the main process."""
    import benchmark.runner as runner

    calls = []

    def spy(kind, real):
        def call(*args, **kwargs):  # bound as the real function binds them (a clash raises here)
            bound = inspect.signature(real).bind(*args, **kwargs).arguments
            calls.append((kind, bound.get("n_jobs"), bound.get("options", {})))
        return call

    monkeypatch.setattr(runner, "prepare_dataset", spy("pool", runner.prepare_dataset))
    monkeypatch.setattr(runner, "open_dataset", spy("main", runner.open_dataset))
    options = {"data_root": "somewhere"} if dataset == "wesad-e4" else {}
    _, got = runner.load_data(RunSpec(methods=parse_methods("prior"), dataset=dataset, dataset_options=options,
                                      n_jobs=n_jobs))
    assert [c[:2] for c in calls] == [("pool", n_jobs) if pooled else ("main", None)]
    assert "n_jobs" not in got and "n_jobs" not in calls[0][2]
