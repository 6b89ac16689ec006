"""The command line as a user drives it (subprocesses from the repository root)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1"}


def cli(*args, check=True, env=None):
    p = subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, env=env or ENV, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "smoke"
    p = cli("run", "--methods", "prior,aa-knn", "--preset", "smoke", "--out", out)
    assert "Average Rank" in p.stdout and "AA-KNN" in p.stdout
    return out


def test_unknown_names_list_valid_ones():
    p = cli("run", "--methods", "nope", check=False)
    assert p.returncode == 2 and "unknown method 'nope'" in p.stderr and "aa-knn" in p.stderr
    p = cli("run", "--dataset", "nope", "--methods", "prior", check=False)
    assert p.returncode == 2 and "synthetic" in p.stderr
    p = cli("run", "--protocol", "nope", "--methods", "prior", check=False)
    assert p.returncode == 2 and "loso" in p.stderr


def test_list_commands():
    assert "aa-knn" in cli("list", "methods").stdout
    assert "synthetic-wesad" in cli("list", "datasets").stdout
    assert "subject-dependent" in cli("list", "protocols").stdout


def test_check_passes_on_itself_and_fails_on_regression(smoke_run, tmp_path):
    base = tmp_path / "baseline.json"
    cli("check", smoke_run, "--baseline", base, "--update")
    assert cli("check", smoke_run, "--baseline", base).returncode == 0
    payload = json.loads(base.read_text())
    (column,) = [c for c in payload["tables"][0]["columns"] if c["method"]["name"] == "aa-knn"]
    column["metrics"]["kl"]["value"] -= 0.05  # the baseline was better: the run now regresses
    base.write_text(json.dumps(payload))
    p = cli("check", smoke_run, "--baseline", base, check=False)
    assert p.returncode == 1 and "REGRESSION" in p.stderr and "AA-KNN | kl" in p.stderr


PRESCOTT = {"OPENBLAS_CORETYPE": "Prescott", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "ATEN_CPU_CAPABILITY": "default"}
HASWELL = {"OPENBLAS_CORETYPE": "Haswell", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
# "another kernel" than the one these tests run under (CI runs the suite under Prescott too)
OTHER_KERNEL = HASWELL if os.environ.get("OPENBLAS_CORETYPE") == "Prescott" else PRESCOTT


def test_check_derives_tolerances_from_a_seed_run_and_a_forced_kernel(smoke_run, tmp_path):
    seed, kernel, base = tmp_path / "seed", tmp_path / "kernel", tmp_path / "baseline.json"
    cli("run", "--methods", "prior,aa-knn", "--preset", "smoke", "--seeds", "1", "--split-seed", "0",
        "--out", seed)
    cli("run", "--methods", "prior,aa-knn", "--preset", "smoke", "--out", kernel, env={**ENV, **OTHER_KERNEL})
    cli("check", smoke_run, "--baseline", base, "--update", "--spread", seed, kernel)
    payload = json.loads(base.read_text())
    assert [o["kind"] for o in payload["runs"]["spread"]] == ["seed", "kernel"]
    assert f"MKL_ENABLE_INSTRUCTIONS={OTHER_KERNEL['MKL_ENABLE_INSTRUCTIONS']}" in payload["derivation"]
    assert f"torch={OTHER_KERNEL['ATEN_CPU_CAPABILITY'].upper()}" in payload["derivation"]
    for column in payload["tables"][0]["columns"]:
        for metric, cell in column["metrics"].items():
            assert cell["derived"] in ("kernel", "seed", "floor")
            assert cell["tolerance"] >= payload["floors"][metric]
            assert cell["kernel_delta"] is not None and cell["seed_std"] is not None
    assert cli("check", kernel, "--baseline", base).returncode == 0  # the other kernel passes
    p = cli("check", smoke_run, "--baseline", base, "--spread", seed, check=False)
    assert p.returncode == 2 and "--spread: only with --update" in p.stderr
    p = cli("check", smoke_run, "--baseline", base, "--update", "--spread", smoke_run, check=False)
    assert p.returncode == 2 and "measures no spread" in p.stderr
    assert json.loads(base.read_text()) == payload  # a refused update leaves the file alone


def test_report_refuses_incomplete_unless_allowed(smoke_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(smoke_run, run)
    next((run / "records").glob("*.json")).unlink()
    p = cli("report", run, check=False)
    assert p.returncode == 2 and "--allow-incomplete" in p.stderr
    p = cli("report", run, "--allow-incomplete")
    assert "INCOMPLETE" in p.stdout


def test_entry_point_plugin_is_registered(tmp_path):
    (tmp_path / "myplugin.py").write_text(
        "from methods.prior import Prior\n"
        "class Uniform(Prior):\n"
        "    '''Uniform distribution plugin used by the tests.'''\n"
        "    def fit(self, train, val=None):\n"
        "        import numpy as np\n"
        "        self.mean_ = np.full(train.n_emotions, 1 / train.n_emotions)\n"
        "        return self\n")
    dist = tmp_path / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mixed_emotion_benchmark.methods]\nuniform = myplugin:Uniform\n")
    env = {**ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    assert "uniform" in cli("list", "methods", env=env).stdout


def test_killed_run_resumes_to_identical_tables(tmp_path):
    """Fault injection: SIGKILL at random moments, resume, compare with an uninterrupted run."""
    args = ["run", "--methods", "prior,aa-knn", "--preset", "smoke", "--protocol", "loso",
            "--dataset-option", "n_subjects=8"]
    ref = tmp_path / "ref"
    cli(*args, "--out", ref)
    rng = random.Random(0)
    for trial in range(3):
        out = tmp_path / f"killed{trial}"
        for _ in range(2):
            p = subprocess.Popen([sys.executable, "-m", "benchmark", *args, "--out", str(out)],
                                 cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 4.0))
            p.send_signal(signal.SIGKILL)
            p.wait()
        cli(*args, "--out", out)
        records = list((out / "records").glob("*"))
        assert all(r.suffix == ".json" for r in records), "half-written record left behind"
        assert len(records) == 24  # prior, aa-knn and the stimulus oracle (added to every run) x 8 subjects
        a = pd.read_csv(ref / "results.csv").drop(columns=["fit_seconds", "predict_seconds"])
        b = pd.read_csv(out / "results.csv").drop(columns=["fit_seconds", "predict_seconds"])
        pd.testing.assert_frame_equal(a, b)
        ranked = [(d / "table.md").read_text().split(" — costs")[0] for d in (ref, out)]  # costs are timings
        assert ranked[0] == ranked[1]


def test_warm_rerun_takes_the_fast_path_until_something_changes(tmp_path):
    args = ["run", "--methods", "prior,aa-knn", "--preset", "smoke", "--out", tmp_path / "run"]
    # prior, aa-knn and the consensus x 4 subjects x 5 folds (every trial tested)
    assert "60 computed" in cli(*args).stdout
    warm = cli(*args)
    assert "nothing computed" in warm.stdout
    assert warm.stdout.split("every job")[0].strip() == (tmp_path / "run" / "table.md").read_text().strip()
    next((tmp_path / "run" / "records").glob("*.json")).unlink()
    again = cli(*args)
    assert "1 computed" in again.stdout and "nothing computed" not in again.stdout


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _descendants(pid: int, marker: str = "") -> set[int]:
    """Live processes below ``pid`` whose command line contains ``marker``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat(int(entry.name))
        if stat is not None and stat[0] != "Z":
            children.setdefault(stat[1], []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return {p for p in found if marker in _cmdline(p)}


def _wait_until(condition, seconds: float) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_takes_the_worker_pool_down(tmp_path):
    """A scheduler's SIGTERM stops the run's workers too: none is left computing jobs whose
    records nobody will write, and no half-written file stays behind."""
    out = tmp_path / "run"
    # Jobs long enough (minutes) that waiting for them, or for the queue, would show.
    args = ["run", "--methods", "prior,mpcl[epochs=2000,patience=0]", "--preset", "smoke",
            "--n-jobs", "2", "--out", out]
    p = subprocess.Popen([sys.executable, "-m", "benchmark", *map(str, args)], cwd=ROOT, env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_until(lambda: p.poll() is not None or len(_descendants(p.pid, "popen_loky")) >= 2, 120)
    time.sleep(2.0)  # the workers import torch and start training
    workers = _descendants(p.pid, "popen_loky")
    assert p.poll() is None and len(workers) == 2, "the run ended before its worker pool was seen"
    p.send_signal(signal.SIGTERM)
    try:
        assert p.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if p.poll() is None:  # it waited for its jobs: the failure under test
            for pid in [p.pid, *_descendants(p.pid)]:
                os.kill(pid, signal.SIGKILL)
    assert "terminated" in p.stderr.read()
    _wait_until(lambda: not any(map(_alive, workers)), 20)
    assert not [w for w in workers if _alive(w)], "workers outlived the terminated run"
    assert all(f.suffix == ".json" for f in (out / "records").glob("*")), "half-written record left behind"
