"""The bad-input corpus (issue 11): each class of bad input is built on the fly in ``tmp_path``
and must give exit 2 (1 for a run whose jobs failed), a one-line message naming the flag or
file, and no traceback. The CLI runs in-process (``main(argv)``) unless a fresh interpreter is
the point (plugins, concurrency)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from benchmark.cli import main
from benchmark.errors import UsageError
from core.files import default_mode
from methods import registry
from methods.base import BaseMethod

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1"}
SMOKE = ["--preset", "smoke", "--methods", "prior"]


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv, names: str) -> str:
    code, _, err = cli(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err and names in err, err
    assert err.count("error:") == 1 and err.strip().startswith("error:"), err
    return err


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad") / "run"
    assert main(["run", *SMOKE, "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("flags, names", [
    (["--seeds", "a,b"], "--seeds"),
    (["--seeds", "-1"], "--seeds"),
    (["--seeds", "0,0"], "--seeds"),
    (["--n-jobs", "0"], "--n-jobs"),
    (["--methods", "prior,prior"], "--methods"),
    (["--dataset-option", "foo=1"], "foo"),
    (["--group", "trial", "--protocol", "loso"], "--group"),
    (["--group", "trial", "--protocol", "kfold"], "--group"),
    (["--data-root", "/tmp"], "--data-root"),
    # our own: a number option given text, a non-positive time limit, an empty method list
    (["--dataset-option", "n_subjects=many"], "n_subjects"),
    (["--time-limit", "0"], "--time-limit"),
    (["--methods", " "], "--methods"),
    # declared ranges of dataset and protocol options, and split options no part takes
    (["--dataset-option", "n_subjects=0"], "n_subjects"),
    (["--n-splits", "1"], "--n-splits"),
    (["--val-size", "1.5"], "--val-size"),
    (["--folds", "some"], "--folds"),
    (["--n-splits", "3", "--protocol", "loso"], "--n-splits"),
    (["--group", "window", "--protocol", "hyperparams", "--repeats", "0"], "--repeats"),
    (["--split-seed", "-2"], "--split-seed"),
    (["--config", "/nonexistent/run.toml"], "--config"),
])
def test_bad_run_options_are_refused_before_any_work(capsys, tmp_path, flags, names):
    out = tmp_path / "run"
    args = ["run", "--preset", "smoke", "--methods", "prior", *flags, "--out", out]
    refused(capsys, *args, names=names)
    assert not out.exists(), "nothing may be created before validation passes"


# ------------------------------------------------------------------ data a protocol cannot split
@pytest.mark.parametrize("flags, names", [
    (["--protocol", "kfold"], "protocol 'kfold' splits samples as if they were independent"),
    (["--dataset-option", "n_subjects=1", "--protocol", "loso"], "'loso' needs at least 2 subjects; dataset 'synthetic' has 1"),
    (["--dataset-option", "n_positive=1", "--dataset-option", "n_negative=0", "--dataset-option",
      "n_mixed=0"], "needs at least 2 trials per subject"),
    (["--n-splits", "3", "--folds", "4"], "folds=4 is more than n_splits=3"),
])
def test_a_protocol_the_data_cannot_support_stops_before_any_job(capsys, tmp_path, flags, names):
    out = tmp_path / "run"
    refused(capsys, "run", "--preset", "smoke", "--methods", "prior", *flags, "--out", out, names=names)
    assert not out.exists()


# ------------------------------------------------------------------ method parameters
@pytest.mark.parametrize("spec, accepts", [
    # wrong type
    ('aa-knn[k="3"]', "an integer >= 1"),
    ("ldl-lrr[max_iter=2.5]", "an integer >= 1"),
    ("mpcl[layer_norm=1]", "true or false"),
    ("sa-cpnn[init=[0.5]]", "one of 'glorot', 'torch' or a number > 0"),
    # out of range
    ("aa-knn[k=0]", "an integer >= 1"),
    ("tlr-dl[lam=-1]", "a number > 0 or one of 'auto'"),
    ("helo[dropout=1]", "a number >= 0 and < 1"),
    ("mpcl[scales=[1,-2]]", "null or a list of at least 1 item(s), each a number > 0"),
    # bad choice
    ("aa-knn[metric=hamming]", "one of 'euclidean', "),
    ("pt-svm[gamma=scale]", "a number > 0 or one of 'auto'"),
    ("cad[loss_form=l2]", "one of 'harmonic', 'emd'"),
    ("mpcl[fusion=concat]", "one of 'msaf', 'sum', 'cross_attention'"),
])
def test_a_method_parameter_outside_its_constraint_is_refused_before_any_work(capsys, tmp_path, spec, accepts):
    key = spec.partition("[")[2].partition("=")[0]
    out = tmp_path / "run"
    err = refused(capsys, "run", "--preset", "smoke", "--methods", f"prior,{spec}", "--out", out,
                  names=f"--methods: {spec}: parameter {key}=")
    assert f"; {key} takes {accepts}" in err, err
    assert not out.exists(), "nothing may be created before validation passes"


def test_n_jobs_defaults_to_usable_cores_and_minus_one_means_the_same():
    from benchmark import validate

    cores = len(os.sched_getaffinity(0))
    assert validate.n_jobs(None) == validate.n_jobs(-1) == cores
    assert validate.n_jobs(1) == 1


# ------------------------------------------------------------------ unreadable data files
def _ldl(root: Path, name: str, **variables) -> None:
    root.mkdir(exist_ok=True)
    savemat(root / f"{name}.mat", variables)


def _bad_mat_files(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    feats, labels = rng.normal(size=(12, 3)), rng.dirichlet(np.ones(4), size=12)
    _ldl(root, "good", features=feats, labels=labels)
    good = (root / "good.mat").read_bytes()
    (root / "truncated.mat").write_bytes(good[: len(good) // 2])
    (root / "header.mat").write_bytes(good[:128])
    (root / "v73.mat").write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n")
    (root / "text.mat").write_text("features,labels\n1,2\n")
    _ldl(root, "empty", features=np.zeros((0, 3)), labels=np.zeros((0, 4)))
    _ldl(root, "strings", features=feats, labels=np.array(["a", "b"]))
    return ["truncated", "header", "v73", "text", "empty", "strings"]


def test_unreadable_mat_files_name_the_file(capsys, tmp_path):
    root = tmp_path / "ldl"
    for name in _bad_mat_files(root):
        out = tmp_path / f"run-{name}"
        refused(capsys, "run", *SMOKE, "--dataset", f"ldl:{name}", "--protocol", "kfold",
                "--data-root", root, "--out", out, names=str(root / f"{name}.mat"))
        assert not out.exists(), "a run failing while loading data leaves no --out"


def test_missing_ldl_file_is_a_data_error(capsys, tmp_path):
    refused(capsys, "run", *SMOKE, "--dataset", "ldl:Nope", "--protocol", "kfold",
            "--data-root", tmp_path, "--out", tmp_path / "run", names="Nope.mat")


def test_truncated_wrist_csv_names_the_file(capsys, tmp_path, monkeypatch):
    import shutil

    from conftest import shared_data

    src = shared_data("wesad_e4") / "S2"
    root = tmp_path / "wesad"
    shutil.copytree(src, root / "S2")
    bvp = root / "S2" / "S2_E4_Data" / "BVP.csv"
    lines = bvp.read_text().splitlines()
    bvp.write_text("\n".join(lines[: len(lines) // 3]) + "\n")
    monkeypatch.setenv("MIXED_EMOTION_CACHE", str(tmp_path / "cache"))
    refused(capsys, "prepare", "--dataset", "wesad-e4", "--data-root", root, "--n-jobs", "1",
            "--dataset-option", 'subjects=["S2"]', names=str(bvp))


# ------------------------------------------------------------------ a damaged run heals
def test_damaged_run_directory_heals(capsys, caplog, tmp_path, smoke_run):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(smoke_run, out)
    ref = pd.read_csv(out / "results.csv").set_index("key")
    preds = sorted((out / "predictions").glob("*.npz"))
    records = sorted((out / "records").glob("*.json"))
    preds[0].unlink()                                            # deleted
    preds[1].write_bytes(preds[1].read_bytes()[:50])             # truncated
    stripped = next(r for r in records if r.stem not in (preds[0].stem, preds[1].stem))
    stripped.write_text(json.dumps({"key": stripped.stem, "status": "ok"}))  # key + status only

    code, _, err = cli(capsys, "report", out)
    assert code == 2 and "Traceback" not in err and "same `run` command" in err
    named = caplog.text  # the warnings of the store, one per damaged record
    assert str(preds[0]) in named and str(preds[1]) in named and str(stripped) in named

    code, stdout, _ = cli(capsys, "run", *SMOKE, "--out", out)
    assert code == 0 and "3 computed" in stdout and "nothing computed" not in stdout
    healed = pd.read_csv(out / "results.csv").set_index("key")
    metrics = ["chebyshev", "clark", "canberra", "kl", "cosine", "intersection"]
    pd.testing.assert_frame_equal(healed[metrics], ref[metrics])
    assert cli(capsys, "report", out)[0] == 0


# ------------------------------------------------------------------ every job fails
class _Failing(BaseMethod):
    """Test double whose fit always raises."""

    family = "reference"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train, val=None):
        raise RuntimeError("boom in fit")

    def predict(self, data):
        raise AssertionError("unreachable")


def test_every_job_failing_writes_results_and_groups_failures(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "failing", _Failing)
    monkeypatch.setattr(_Failing, "name", "failing", raising=False)
    monkeypatch.setattr(_Failing, "display", "Failing", raising=False)
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "run", "--preset", "smoke", "--methods", "failing", "--n-jobs", "1",
                            "--out", out)
    assert code == 1 and "Traceback" not in err
    assert "20 job(s) failed [Failing]: RuntimeError: boom in fit" in err  # 4 subjects × 5 folds
    results = pd.read_csv(out / "results.csv")
    assert (results.query("method == 'failing'")["status"] == "failed").all()


# ------------------------------------------------------------------ broken plugin
def test_broken_plugin_is_isolated(tmp_path):
    dist = tmp_path / "ghostpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ghostpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mixed_emotion_benchmark.methods]\nghost = no_such_module:Ghost\n")
    env = {**ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    listed = run("list", "methods")
    assert listed.returncode == 0 and "aa-knn" in listed.stdout
    warnings = [line for line in listed.stderr.splitlines() if "ghost" in line]
    assert len(warnings) == 1 and "ghostpkg" in warnings[0] and "no_such_module" in warnings[0]
    asked = run("run", "--preset", "smoke", "--methods", "ghost", "--out", tmp_path / "run")
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert "error: --methods: method 'ghost' could not be loaded" in asked.stderr
    assert "No module named 'no_such_module'" in asked.stderr and not (tmp_path / "run").exists()


# ------------------------------------------------------------------ file system
def test_unwritable_out_is_named(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    refused(capsys, "run", *SMOKE, "--out", blocker / "run", names=str(blocker / "run"))


def test_disk_full_is_named_and_keeps_finished_records(capsys, tmp_path, monkeypatch):
    import errno

    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > 5:  # run.json and two jobs (predictions + record each) fit on the "disk"
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "run"
    refused(capsys, "run", *SMOKE, "--n-jobs", "1", "--out", out, names="No space left on device")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert len(list((out / "records").glob("*.json"))) == 2
    assert not list(out.rglob("*.tmp")), "no temporary file left behind"
    code, stdout, _ = cli(capsys, "run", *SMOKE, "--out", out)
    assert code == 0 and "2 cached" in stdout


def test_files_follow_the_umask(smoke_run):
    for path in [smoke_run / "run.json", smoke_run / "results.csv", *smoke_run.glob("records/*.json")]:
        assert path.stat().st_mode & 0o777 == default_mode(), path


# ------------------------------------------------------------------ baseline files
_KEY = ('{"dataset": {"name": "synthetic", "options": {}}, "protocol": {"name": "loso", "options": {}}, '
        '"normalize": "none", "preset": "smoke", "tune": 0}')


@pytest.mark.parametrize("content, names", [
    ('{"format": "benchmark-baseline/2", "tables": [{"key": ' + _KEY + ', "columns": [{"method": '
     '{"name": "prior"}, "metrics": {"kl2": {"value": 0.1, "tolerance": 0.1}}}]}]}', "'kl2'"),
    ('{"format": "benchmark-baseline/2", "tables": [{"key": ' + _KEY + ', "columns": [{"method": '
     '{"name": "prior"}, "metrics": {"kl": {"value": "low", "tolerance": 0.1}}}]}]}', "not a number"),
    ("{not json", "not valid JSON"),
    ('{"tolerance": {}}', "format"),
    ('{"tables": {"t": {"Prior": {"kl": 0.1}}}}', "old format"),
])
def test_bad_baseline_is_named(capsys, tmp_path, smoke_run, content, names):
    base = tmp_path / "baseline.json"
    base.write_text(content)
    err = refused(capsys, "check", smoke_run, "--baseline", base, names=str(base))
    assert names in err


# ------------------------------------------------------------------ our own cases
def test_report_of_a_non_run_directory_and_bad_format(capsys, tmp_path, smoke_run):
    refused(capsys, "report", tmp_path, names=str(tmp_path))
    refused(capsys, "report", smoke_run, "--format", "pdf", names="--format")
    refused(capsys, "report", smoke_run, "--compare-paper", names="--compare-paper")


def test_damaged_run_json_is_named(capsys, tmp_path, smoke_run):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(smoke_run, out)
    (out / "run.json").write_text("{")
    refused(capsys, "report", out, names=str(out / "run.json"))


def test_debug_shows_the_traceback(capsys, tmp_path):
    with pytest.raises(Exception, match="--seeds"):
        main(["run", *SMOKE, "--seeds", "x", "--debug", "--out", str(tmp_path / "run")])


# ------------------------------------------------------------------ shared run directory
def test_concurrent_runs_leave_a_consistent_directory(tmp_path):
    out = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--preset", "smoke",
                               "--methods", methods, "--n-jobs", "1", "--out", str(out)],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for methods in ("prior,aa-knn", "prior")]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    manifest = json.loads((out / "run.json").read_text())
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["key"]) == sorted(manifest["jobs"])
    assert set(manifest["spec"]["methods"]) <= set(results["method"])
    table = (out / "table.md").read_text()
    assert ("AA-KNN" in table) == ("aa-knn" in manifest["spec"]["methods"])


# ================================================================== issue 27: the new surfaces
# Config files, the Python API, plugins and stored runs. Each class of bad input gives one
# `error:` line naming the culprit, exit 2, and writes nothing (the --out does not exist).
def _config(tmp_path: Path, options: dict, suffix: str = ".json") -> Path:
    path = tmp_path / f"run{suffix}"
    path.write_text(json.dumps(options))
    return path


# ------------------------------------------------------------------ config values: type and meaning
@pytest.mark.parametrize("options, names", [
    # a value of the wrong type
    ({"dataset_options": "n_subjects=3"}, "dataset_options (--dataset-option): 'n_subjects=3'"),
    ({"n_jobs": "2"}, "n_jobs (--n-jobs): '2'"),
    ({"out": 5}, "out (--out): 5"),
    ({"dataset": 5}, "dataset (--dataset): 5"),
    ({"protocol_options": [1]}, "protocol_options: [1]"),
    # a value that would be read as something else
    ({"references": "false"}, "references: 'false' is not accepted; it takes true or false"),
    ({"methods": []}, "methods (--methods): []"),
    # our own: an empty table, a table whose value is not a table of parameters, a bool where a
    # seed goes, a list holding a non-integer seed, a number given as text, a wrong choice
    ({"methods": {}}, "methods (--methods): {}"),
    ({"methods": {"aa-knn": 3}}, "methods (--methods): {'aa-knn': 3}"),
    ({"split_seed": True}, "split_seed (--split-seed): True"),
    ({"seeds": [0, 1.5]}, "seeds (--seeds): [0, 1.5]"),
    ({"time_limit": "10"}, "time_limit (--time-limit): '10'"),
    ({"deterministic": "yes"}, "deterministic (--deterministic): 'yes'"),
    ({"preset": "fast"}, "preset (--preset): 'fast'"),
    ({"folds": 0}, "folds (--folds): 0"),
    ({"methods": {"aa-knn": {"k": 0}}}, "aa-knn[k=0]: parameter k=0 is not accepted"),
    ({"methods": {"aa-knn": {"kk": 3}}}, "'kk' is not a parameter"),
])
def test_a_config_value_is_checked_by_its_declaration(capsys, tmp_path, options, names):
    config, out = _config(tmp_path, {"preset": "smoke", **options}), tmp_path / "run"
    err = refused(capsys, "run", "--config", config, "--out", out, names=names)
    assert "--config" in err or "--methods" in err, err  # the file (or the flag) is named
    assert not out.exists()


def test_a_toml_config_value_of_the_wrong_type_names_the_file_and_key(capsys, tmp_path):
    config, out = tmp_path / "run.toml", tmp_path / "run"
    config.write_text('preset = "smoke"\nn_jobs = "2"\n')
    refused(capsys, "run", "--config", config, "--out", out, names=f"--config {config}: n_jobs (--n-jobs)")
    assert not out.exists()


def test_a_method_table_means_every_part_of_it():
    from benchmark.spec import build

    spec = build(methods={"prior": {}, "aa-knn": {"k": 3}, "mpcl[w/o PRD]": {"epochs": 2}},
                 preset="smoke", references=False)
    assert [m.label for m in spec.methods] == ["prior", "aa-knn[k=3]", "mpcl[w/o PRD,epochs=2]"]
    assert spec.methods[1].build("smoke").k == 3 and spec.references is False
    with pytest.raises(UsageError, match="variant 'w/o PRD' sets lambda_prd"):
        build(methods={"mpcl[w/o PRD]": {"lambda_prd": 0.5}}, preset="smoke")


def test_the_api_checks_the_same_declarations(tmp_path):
    import benchmark

    out = tmp_path / "run"
    for options, key in [({"n_jobs": "2"}, "n_jobs"), ({"references": "false"}, "references"),
                         ({"protocol_options": [1]}, "protocol_options"), ({"methods": []}, "methods")]:
        with pytest.raises(UsageError, match=f"^{key}"):
            benchmark.run(**{"methods": "prior", "preset": "smoke", "out": out, **options})
    assert not out.exists()


# ------------------------------------------------------------------ user code: references and classes
_BAD_MODULES = {
    "lab_raises": "raise RuntimeError('lab server unreachable')\n",
    "lab_exits": "import sys\nsys.exit(3)\n",
    "lab_norandom": ("from methods.base import BaseMethod\nclass RidgeLDL(BaseMethod):\n"
                     "    '''A ridge without random_state.'''\n"
                     "    def __init__(self, alpha=1.0):\n        self.alpha = alpha\n"),
    "lab_prior": ("from methods.base import BaseMethod\nclass RidgeLDL(BaseMethod):\n"
                  "    \"\"\"A user's class that calls itself prior.\"\"\"\n    name = 'prior'\n"
                  "    def __init__(self, random_state=None):\n        self.random_state = random_state\n"),
    "lab_required": ("from methods.base import BaseMethod\nclass RidgeLDL(BaseMethod):\n"
                     "    '''A ridge whose alpha has no default.'''\n"
                     "    def __init__(self, alpha, random_state=None):\n"
                     "        self.alpha, self.random_state = alpha, random_state\n"),
}


@pytest.mark.parametrize("module, names", [
    ("lab_raises", "cannot import method 'lab_raises:RidgeLDL' (RuntimeError: lab server unreachable)"),
    ("lab_exits", "cannot import method 'lab_exits:RidgeLDL' (SystemExit: 3)"),
    ("lab_norandom", "--methods: lab_norandom:RidgeLDL cannot be built: RidgeLDL.__init__ takes no random_state"),
    ("lab_prior", "class lab_prior.RidgeLDL is named 'prior', the name of the registered method 'prior'"),
    ("lab_required", "--methods: lab_required:RidgeLDL cannot be built: RidgeLDL.__init__ parameter(s) "
                     "alpha have no default"),
])
def test_a_method_reference_that_cannot_be_imported_or_built_is_refused(capsys, tmp_path, monkeypatch,
                                                                       module, names):
    (tmp_path / f"{module}.py").write_text(_BAD_MODULES[module])
    monkeypatch.syspath_prepend(str(tmp_path))
    config, out = _config(tmp_path, {"preset": "smoke", "methods": ["prior", f"{module}:RidgeLDL"]}), tmp_path / "run"
    refused(capsys, "run", "--config", config, "--out", out, names=names if names.startswith("--") else f"--methods: {names}")
    assert not out.exists()


class Prior(BaseMethod):
    """A user's own prior that happens to share the built-in's class name."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train, val=None):
        return self

    def predict(self, data):
        return np.full((len(data), data.n_emotions), 1 / data.n_emotions)


def test_a_user_class_named_like_a_builtin_is_refused_not_replaced(tmp_path):
    import benchmark
    from benchmark.errors import BenchmarkError

    out = tmp_path / "run"
    with pytest.raises(UsageError, match=r"Prior is named 'prior', the name of the registered method 'prior' "
                                         r"\(methods.prior.Prior\)"):
        benchmark.run(methods=[Prior], preset="smoke", out=out)
    assert not out.exists() and Prior.__dict__.get("name") is None, "the class is left untouched"
    twin = type("Twin", (Prior,), {"__doc__": "Another class named twin.", "name": "twin"})
    other = type("Twin", (Prior,), {"__doc__": "A second class named twin.", "name": "twin"})
    with pytest.raises(BenchmarkError, match="two methods are named 'twin'"):
        benchmark.run(methods=[twin, other], preset="smoke", out=out)
    assert not out.exists()


# ------------------------------------------------------------------ stored runs
METRIC_NAMES = ["chebyshev", "clark", "canberra", "kl", "cosine", "intersection"]


def _edit_record(run: Path) -> tuple[Path, float]:
    """Hand-edit one finished record's KL to a tenth (and its n_test); return it and the true KL."""
    for path in sorted((run / "records").glob("*.json")):
        rec = json.loads(path.read_text())
        if rec["status"] == "ok" and rec["metrics"]["kl"] > 1e-3:
            true = rec["metrics"]["kl"]
            rec["metrics"]["kl"] = true / 10
            rec["n_test"] += 1
            path.write_text(json.dumps(rec, indent=1))
            return path, true
    raise AssertionError("no finished record")


def test_a_hand_edited_record_is_named_and_re_derived_by_every_reader(capsys, caplog, tmp_path, smoke_run,
                                                                     monkeypatch):
    import shutil

    import benchmark
    from benchmark import pages

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    monkeypatch.setattr(pages, "RESULTS", tmp_path / "results")

    def edited_then(reader) -> tuple[str, float]:
        caplog.clear()
        path, true = _edit_record(run)
        reader()
        named = [r.getMessage() for r in caplog.records if str(path) in r.getMessage()]
        assert len(named) == 1 and "do not match its predictions" in named[0], caplog.text
        assert f"metrics.kl {true / 10:.6g} (predictions: {true:.6g})" in named[0] and "n_test" in named[0]
        rec = json.loads(path.read_text())
        assert rec["metrics"]["kl"] == pytest.approx(true, rel=1e-5), "rewritten with the true value"
        return path.stem, true

    key, true = edited_then(lambda: benchmark.load(run))
    assert benchmark.load(run).frame.set_index("key").loc[key, "kl"] == pytest.approx(true, rel=1e-5)
    key, true = edited_then(lambda: cli(capsys, "report", run))
    key, true = edited_then(lambda: cli(capsys, "check", run, "--update", "--baseline", tmp_path / "b.json"))
    key, true = edited_then(lambda: pages.add(run, "copy"))
    added = pd.read_csv(tmp_path / "results" / "copy" / "results.csv").set_index("key")
    assert added.loc[key, "kl"] == pytest.approx(true, rel=1e-5)
    code = [None]

    def warm_rerun():
        code[0], stdout, _ = cli(capsys, "run", *SMOKE, "--out", run)
        assert "0 computed" in stdout, stdout

    key, true = edited_then(warm_rerun)
    assert code[0] == 0
    assert pd.read_csv(run / "results.csv").set_index("key").loc[key, "kl"] == pytest.approx(true, rel=1e-5)


def _experiment(tmp_path: Path, smoke_run: Path, text: str) -> Path:
    import shutil

    exp = tmp_path / "exp"
    shutil.copytree(smoke_run, exp / "main")
    (exp / "experiment.json").write_text(text)
    return exp


@pytest.mark.parametrize("text, names", [
    ('{"experiment": "ablation-modules", "parts": ["ma', "is damaged"),                 # cut off
    ('{"experiment": "x", "parts": ["../../escape"]}', "no 'parts' list of folder names"),  # our own
    ('{"experiment": "x", "parts": "main"}', "no 'parts' list of folder names"),         # our own
])
def test_a_damaged_experiment_file_is_named(capsys, tmp_path, smoke_run, text, names):
    import benchmark
    from benchmark.errors import RunDirError

    exp = _experiment(tmp_path, smoke_run, text)
    err = refused(capsys, "report", exp, names=str(exp / "experiment.json"))
    assert names in err
    with pytest.raises(RunDirError, match=names):
        benchmark.load(exp)


def test_a_damaged_manifest_job_key_that_leaves_the_run_is_named(capsys, tmp_path, smoke_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    manifest = json.loads((run / "run.json").read_text())
    manifest["jobs"][0] = "../../outside"
    (run / "run.json").write_text(json.dumps(manifest))
    err = refused(capsys, "report", run, names=str(run / "run.json"))
    assert "not a plain file name" in err


def test_check_on_an_experiment_directory_names_its_parts(capsys, tmp_path, smoke_run):
    exp = _experiment(tmp_path, smoke_run, '{"experiment": "x", "parts": ["main"]}')
    err = refused(capsys, "check", exp, "--baseline", tmp_path / "b.json", "--update", names=str(exp))
    assert "is an experiment's directory" in err and str(exp / "main") in err
    assert "not a run directory" not in err


# ------------------------------------------------------------------ nothing written before the request is good
@pytest.mark.parametrize("address", ["nonsense", "foo://host:1", "tcp://host:port", "tcp://:8786"])
def test_a_bad_scheduler_address_is_refused_before_the_data_loads(capsys, tmp_path, address):
    out = tmp_path / "run"
    refused(capsys, "run", *SMOKE, "--scheduler", address, "--out", out, names=f"--scheduler {address!r}")
    assert not out.exists(), "no run.json, no .lock"


@pytest.mark.parametrize("flags", [[], ["--group", "trial"], ["--group", "window"], ["--protocol", "loso"]])
def test_a_protocol_that_needs_subjects_or_trials_refuses_ldl_data(capsys, tmp_path, flags):
    rng = np.random.default_rng(0)
    _ldl(tmp_path / "ldl", "flat", features=rng.normal(size=(40, 3)), labels=rng.dirichlet(np.ones(4), size=40))
    out = tmp_path / "run"
    err = refused(capsys, "run", *SMOKE, "--dataset", "ldl:flat", "--data-root", tmp_path / "ldl", *flags,
                  "--out", out, names="dataset 'ldl:flat' has no subject")
    assert "use 'kfold'" in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", ""])
def test_pages_name_cannot_leave_results(capsys, tmp_path, smoke_run, monkeypatch, name):
    from benchmark import pages

    monkeypatch.setattr(pages, "RESULTS", tmp_path / "checkout" / "results")
    refused(capsys, "pages", "--add", smoke_run, "--name", name, names="--name")
    assert not (tmp_path / "checkout").exists()


# ------------------------------------------------------------------ plugins
def _plugin_env(tmp_path: Path, entry_points: str, modules: dict[str, str]) -> dict:
    dist = tmp_path / "labplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mixed_emotion_benchmark.methods]\n" + entry_points)
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(text)
    return {**ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_plugin_that_exits_at_import_or_is_no_method_is_named_and_contained(tmp_path):
    env = _plugin_env(tmp_path, "argv = lab_argv:Thing\nfactory = lab_factory:make\n", {
        "lab_argv": "import argparse\nargparse.ArgumentParser().parse_args()\nThing = None\n",
        "lab_factory": "def make():\n    return None\n"})
    listed = _run(env, "list", "methods")
    assert listed.returncode == 0 and "aa-knn" in listed.stdout, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if "BROKEN PLUGIN" in line}
    assert set(rows) == {"argv", "factory"}, listed.stdout
    assert "SystemExit: 2" in rows["argv"] and "unrecognized arguments: list methods" in rows["argv"]
    assert "lab_factory:make" in rows["factory"] and "names a function (make)" in rows["factory"]
    assert not [line for line in listed.stderr.splitlines() if line.startswith(("usage:", "error:"))]
    out = tmp_path / "run"
    asked = _run(env, "run", "--preset", "smoke", "--methods", "prior,factory", "--out", out)
    errors = [line for line in asked.stderr.splitlines() if line.startswith("error:")]
    assert asked.returncode == 2 and "Traceback" not in asked.stderr and len(errors) == 1, asked.stderr
    assert errors[0].startswith("error: --methods: method 'factory' could not be loaded")
    assert not out.exists()


# ------------------------------------------------------------------ the public checks
def test_the_public_checks_take_instances():
    from methods.aa_knn import AAKNN
    from methods.checks import check_values_satisfy_constraints, checked_class, parametrize_with_checks

    mark = parametrize_with_checks([AAKNN, AAKNN(k=5)])
    ids = [p.id for p in mark.args[1]]
    assert "aa-knn-metadata" in ids and "aa-knn(k=5)-metadata" in ids
    configured = checked_class(AAKNN(k=5))
    assert issubclass(configured, AAKNN) and configured.presets["smoke"]["k"] == 5
    assert configured.__doc__ == AAKNN.__doc__ and checked_class(AAKNN()) is AAKNN
    with pytest.raises(AssertionError, match="k=0 is not accepted"):
        check_values_satisfy_constraints(checked_class(AAKNN(k=0)))


# ------------------------------------------------------------------ messages that name what was typed
def test_prepare_a_generated_dataset_names_the_dataset_not_an_untyped_flag(capsys, tmp_path):
    err = refused(capsys, "prepare", "--dataset", "synthetic", names="--dataset synthetic")
    assert "n_jobs" not in err and "nothing to prepare" in err
    rng = np.random.default_rng(0)
    _ldl(tmp_path / "ldl", "flat", features=rng.normal(size=(12, 3)), labels=rng.dirichlet(np.ones(4), size=12))
    refused(capsys, "prepare", "--dataset", "ldl:flat", "--data-root", tmp_path / "ldl", "--n-jobs", "2",
            names="--n-jobs: dataset 'ldl:flat'")


# ------------------------------------------------------------------ one error family
def test_one_except_catches_every_user_facing_error():
    import benchmark.errors as errors
    from benchmark.results import IncompleteRunError
    from datasets.base import DataError
    from core.errors import BenchmarkError
    from core.params import ParameterError
    from methods.aa_knn import AAKNN
    from methods.registry import external
    from protocols import ProtocolError

    assert errors.BenchmarkError is BenchmarkError and errors.DataError is DataError
    for cls in (DataError, ParameterError, ProtocolError, IncompleteRunError, errors.UsageError,
                errors.RunDirError, errors.BaselineError):
        assert issubclass(cls, BenchmarkError), cls
    assert issubclass(DataError, ValueError) and issubclass(ParameterError, ValueError)  # as before
    with pytest.raises(BenchmarkError, match="k=0"):
        external(AAKNN(k=0))
    with pytest.raises(BenchmarkError, match=r"aa-knn\[k=0\]"):
        from benchmark.spec import build

        build(methods="aa-knn[k=0]")


# ------------------------------------------------------------------ our own classes
def test_a_json_config_giving_a_key_twice_is_refused(capsys, tmp_path):
    config, out = tmp_path / "run.json", tmp_path / "run"
    config.write_text('{"preset": "smoke", "seeds": [0], "seeds": [1]}')
    refused(capsys, "run", "--config", config, "--out", out, names="key 'seeds' is given twice")
    assert not out.exists()


def test_a_plain_run_into_an_experiment_directory_is_refused(capsys, tmp_path, smoke_run):
    exp = _experiment(tmp_path, smoke_run, '{"experiment": "x", "parts": ["main"]}')
    before = sorted(p.name for p in exp.iterdir())
    refused(capsys, "run", *SMOKE, "--out", exp, names=f"--out {exp}: an experiment's directory")
    assert sorted(p.name for p in exp.iterdir()) == before, "nothing written into it"
    refused(capsys, "run", *SMOKE, "--protocol", "ablation-modalities", "--out", smoke_run,
            names=f"--out {smoke_run}: a plain run's directory")
    assert not (smoke_run / "experiment.json").exists()


def test_the_error_family_is_reachable_from_the_package(tmp_path):
    import benchmark
    from core.errors import BenchmarkError

    assert benchmark.BenchmarkError is BenchmarkError
    with pytest.raises(benchmark.BenchmarkError, match="--scheduler"):
        benchmark.run(methods="prior", preset="smoke", scheduler="nonsense", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
