"""The regression gate (benchmark/check.py) and the provenance it reads (benchmark/provenance.py):
structured keys, per-cell tolerances derived from seed and kernel spread, the usage error of a
baseline that shares no table with the run, and the provenance fields."""
from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.check import (FLOORS, FORMAT, compare, derive, load_baseline, run_tables,
                             write_baseline)
from benchmark.cli import main
from benchmark.errors import BaselineError, UsageError
from benchmark.provenance import kernel_signature, provenance
from benchmark.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
PRESCOTT = {"OPENBLAS_CORETYPE": "Prescott", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "ATEN_CPU_CAPABILITY": "default"}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate") / "run"
    assert main(["run", "--preset", "smoke", "--methods", "prior,aa-knn", "--out", str(out)]) == 0
    _, recs, missing = RunDir(out).load()
    assert not missing
    return recs


def _shift(recs, method, metric, by):
    """A copy of ``recs`` with ``method``'s ``metric`` moved by ``by`` in every job (window and
    trial-balanced means alike), so the table mean moves by exactly ``by``."""
    out = copy.deepcopy(recs)
    for r in out:
        if r["config"]["method"]["name"] == method:
            for part in ("metrics", "metrics_trial"):
                if r.get(part):
                    r[part][metric] += by
    return out


def _other_kernel(recs):
    """``recs`` as if run under another math kernel (their provenance says Prescott/DEFAULT)."""
    out = copy.deepcopy(recs)
    for r in out:
        prov = r["provenance"]
        for b in prov["blas"]:
            b["architecture"] = "Prescott"
        if prov.get("torch"):
            prov["torch"]["cpu_capability"] = "DEFAULT"
        prov["env"] = {**prov["env"], **PRESCOTT}
    return out


def _other_seed(recs, seed=1):
    out = copy.deepcopy(recs)
    for r in out:
        r["config"]["seed"] = seed  # same split seed and partitions: model seeds only
    return out


def _cell(payload, method, metric):
    (table,) = payload["tables"]
    (col,) = [c for c in table["columns"] if c["method"]["name"] == method]
    return col["metrics"][metric]


# ----------------------------------------------------------------------------- keys
def test_table_key_is_structured(records):
    (table,) = run_tables(records).values()
    assert table.key == {
        "dataset": {"name": "synthetic", "options": records[0]["config"]["dataset"]["options"]},
        "protocol": {"name": "subject-dependent", "options": records[0]["config"]["protocol"]["options"]},
        "normalize": "none", "preset": "smoke", "tune": 0}
    specs = [c.spec for c in table.columns.values()]
    assert {"name": "aa-knn", "variant": "", "params": {}, "drop": [], "tune": 0} in specs


def test_keys_survive_rewording_titles_and_labels(records):
    baseline = derive("run", records, [])
    for t in baseline["tables"]:  # the display text of the baseline, reworded
        t["title"] = "a completely different title"
        for c in t["columns"]:
            c["label"] = c["label"].upper() + " (renamed)"
    renamed = copy.deepcopy(records)
    for r in renamed:  # and the run's column labels
        r["label"] = "Method " + r["label"][::-1]
    regressions, notes = compare(run_tables(renamed), baseline)
    assert regressions == [] and not any("new" in n for n in notes), (regressions, notes)


def test_a_changed_structured_field_is_another_table(records):
    baseline = derive("run", records, [])
    other = copy.deepcopy(records)
    for r in other:
        r["config"]["protocol"]["options"]["normalize"] = "subject"
    assert set(run_tables(other)) != set(run_tables(records))
    with pytest.raises(UsageError) as exc:
        compare(run_tables(other), baseline)
    msg = str(exc.value)
    assert "differ" in msg and "normalize=subject" in msg and "normalize=none" in msg
    assert "normalize: \"none\" vs \"subject\"" in msg or "normalize: \"subject\" vs \"none\"" in msg


# ----------------------------------------------------------------------------- tolerances
def test_cell_beyond_its_tolerance_regresses_and_within_does_not(records):
    baseline = derive("run", records, [])
    kl = _cell(baseline, "aa-knn", "kl")
    assert kl["derived"] == "floor" and kl["tolerance"] == FLOORS["kl"]
    tol = kl["tolerance"]
    # KL: lower is better. The run is worse than the baseline by 0.9 and 1.1 tolerances.
    regs, _ = compare(run_tables(_shift(records, "aa-knn", "kl", 0.9 * tol)), baseline)
    assert regs == []
    regs, _ = compare(run_tables(_shift(records, "aa-knn", "kl", 1.1 * tol)), baseline)
    assert len(regs) == 1 and "REGRESSION" in regs[0] and "AA-KNN | kl" in regs[0]
    # Cosine: higher is better, so a drop is the regression and a rise an improvement.
    tol = _cell(baseline, "aa-knn", "cosine")["tolerance"]
    regs, _ = compare(run_tables(_shift(records, "aa-knn", "cosine", -1.1 * tol)), baseline)
    assert len(regs) == 1 and "cosine" in regs[0]
    regs, notes = compare(run_tables(_shift(records, "aa-knn", "cosine", 1.1 * tol)), baseline)
    assert regs == [] and any(n.startswith("improved") and "cosine" in n for n in notes)


def test_tolerances_derived_from_a_seed_run_and_a_kernel_run(records):
    d_seed, d_kernel = 0.01, 0.001
    seed_run = _shift(_shift(_other_seed(records), "aa-knn", "kl", d_seed), "aa-knn", "clark", 1e-5)
    kernel_run = _shift(_shift(_other_kernel(records), "aa-knn", "kl", d_kernel),
                        "aa-knn", "chebyshev", d_kernel)
    payload = derive("run", records, [("seed-run", seed_run), ("kernel-run", kernel_run)])
    assert [o["kind"] for o in payload["runs"]["spread"]] == ["seed", "kernel"]
    kl = _cell(payload, "aa-knn", "kl")  # seed std |Δ|/√2; 2 × that beats 3 × the kernel Δ
    assert kl["seed_std"] == pytest.approx(d_seed / math.sqrt(2), rel=1e-3)
    assert kl["kernel_delta"] == pytest.approx(d_kernel, rel=1e-3)
    assert kl["derived"] == "seed" and kl["tolerance"] == pytest.approx(2 * d_seed / math.sqrt(2), abs=2e-8)
    cheb = _cell(payload, "aa-knn", "chebyshev")
    assert cheb["derived"] == "kernel" and cheb["tolerance"] == pytest.approx(3 * d_kernel, abs=2e-8)
    clark = _cell(payload, "aa-knn", "clark")  # measured, but below the floor
    assert clark["derived"] == "floor" and clark["tolerance"] == FLOORS["clark"]
    prior = _cell(payload, "prior", "kl")
    assert prior["derived"] == "floor" and prior["kernel_delta"] == 0 and prior["seed_std"] == 0
    text = payload["derivation"]
    assert "seed-run" in text and "kernel-run" in text and "Prescott" in text and "[[1, 0]]" in text
    # The kernel run itself passes against the derived baseline, a 4x larger move does not.
    assert compare(run_tables(kernel_run), payload)[0] == []
    worse = _shift(kernel_run, "aa-knn", "chebyshev", 3 * d_kernel)
    assert any("chebyshev" in r for r in compare(run_tables(worse), payload)[0])


@pytest.mark.parametrize("make, says", [
    (lambda recs: copy.deepcopy(recs), "measures no spread"),
    (lambda recs: _other_seed(_other_kernel(recs)), "cannot be told apart"),
])
def test_spread_runs_that_measure_nothing_or_two_things_are_refused(records, make, says):
    with pytest.raises(UsageError, match=says):
        derive("run", records, [("other", make(records))])


def test_a_seed_run_with_other_partitions_is_refused(records):
    other = _other_seed(records)
    for r in other:
        r["config"]["protocol"]["split_seed"] = 1
        r["config"]["protocol"]["indices"] = "another-partition"
    with pytest.raises(UsageError, match="--split-seed 0"):
        derive("run", records, [("other", other)])


def test_records_without_kernel_provenance_are_refused(records):
    old = copy.deepcopy(records)
    for r in old:
        r["provenance"] = {k: r["provenance"][k] for k in ("versions", "python", "git_commit", "host")}
    with pytest.raises(UsageError, match="no kernel provenance"):
        derive("run", records, [("old", old)])


# ----------------------------------------------------------------------------- compare
def test_missing_column_regresses_new_column_is_a_note_failed_column_regresses(records):
    no_knn = [r for r in records if r["config"]["method"]["name"] != "aa-knn"]
    baseline = derive("run", no_knn, [])
    regs, notes = compare(run_tables(records), baseline)
    assert regs == [] and any("new column" in n and "AA-KNN" in n for n in notes)
    baseline = derive("run", records, [])
    regs, _ = compare(run_tables(no_knn), baseline)
    assert len(regs) == 1 and "column 'AA-KNN' missing" in regs[0]
    failed = copy.deepcopy(records)
    job = next(r for r in failed if r["config"]["method"]["name"] == "aa-knn")
    job.update(status="error", error="ValueError: boom", metrics=None, metrics_trial=None)
    regs, _ = compare(run_tables(failed), baseline)
    assert len(regs) == 1 and "jobs failed" in regs[0] and "boom" in regs[0]


def test_no_shared_table_is_a_usage_error_on_the_command_line(records, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "--preset", "smoke", "--methods", "prior", "--protocol", "loso",
                 "--out", str(run)]) == 0
    base = tmp_path / "baseline.json"
    write_baseline(derive("run", records, []), base)
    capsys.readouterr()
    assert main(["check", str(run), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and err.startswith("error:") and "Traceback" not in err
    assert "table keys and the baseline's differ" in err and "loso" in err and "subject-dependent" in err


# ----------------------------------------------------------------------------- files
def test_baseline_file_round_trips_and_records_derivation(records, tmp_path):
    path = tmp_path / "b.json"
    write_baseline(derive("run", records, [("k", _other_kernel(records))]), path)
    payload = json.loads(path.read_text())
    assert payload["format"] == FORMAT and "derivation" in payload and "rule" in payload
    cell = _cell(payload, "aa-knn", "kl")
    assert set(cell) == {"value", "tolerance", "derived", "kernel_delta", "seed_std"}
    loaded = load_baseline(path)
    assert compare(run_tables(records), loaded) == ([], [])


def test_old_format_is_refused_with_how_to_regenerate(tmp_path):
    path = tmp_path / "smoke.json"
    path.write_text(json.dumps({"tolerance": {"kl": 0.005},
                                "tables": {"synthetic — ... — defaults": {"Prior": {"kl": 0.06}}}}))
    with pytest.raises(BaselineError) as exc:
        load_baseline(path)
    msg = str(exc.value)
    assert str(path) in msg and "old format" in msg and "--update --spread" in msg


# ----------------------------------------------------------------------------- provenance
def test_provenance_records_device_versions_and_kernels():
    prov = provenance()
    assert prov["device"] in ("cpu", "cuda") and prov["device_name"] and prov["cpu"]
    for pkg in ("numpy", "scipy", "torch", "scikit-learn", "pandas", "joblib", "POT", "mne",
                "neurokit2", "python"):
        assert pkg in prov["versions"]
    assert prov["versions"]["numpy"] and prov["versions"]["python"]
    owners = {b["owner"] for b in prov["blas"]}
    assert "numpy" in owners or None in owners
    assert any(b["architecture"] for b in prov["blas"] if b["library"] == "openblas") or \
        not any(b["library"] == "openblas" for b in prov["blas"])
    assert prov["torch"]["cpu_capability"] in ("DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX")
    assert set(prov["env"]) >= set(PRESCOTT)
    assert prov["kernel"] == kernel_signature(prov) and "blas=" in prov["kernel"]


def test_provenance_tells_a_forced_kernel_apart():
    code = "import json; from benchmark.provenance import provenance; print(json.dumps(provenance()))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), **PRESCOTT}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    forced = json.loads(out)
    assert forced["env"]["OPENBLAS_CORETYPE"] == "Prescott"
    assert forced["torch"]["cpu_capability"] == "DEFAULT"
    assert "MKL_ENABLE_INSTRUCTIONS=SSE4_2" in forced["kernel"]
    assert forced["kernel"] != provenance()["kernel"] or os.environ.get("OPENBLAS_CORETYPE")


def test_provenance_without_torch(monkeypatch):
    import importlib.util

    from benchmark import provenance as module

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    prov = module.provenance.__wrapped__()
    assert prov["torch"] is None and prov["device"] == "cpu" and prov["device_name"] == prov["cpu"]
    assert "torch=" not in prov["kernel"] and "blas=" in prov["kernel"]
