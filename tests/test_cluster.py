"""A real Dask cluster started with the ``dask`` command line on 127.0.0.1 (docs/cluster.md).

A scheduler and two worker processes run a small benchmark; its metrics must equal a local
run's. One worker is killed with SIGKILL mid-run: the run completes on the other (Dask
reschedules the lost worker's jobs), or the same command resumes it; either way the metrics
equal the local run's. A worker started from a checkout with different code is refused. Every
process started here is killed at the end, whatever happens (each in its own process group).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent / "dask")
METRICS = ["chebyshev", "clark", "canberra", "kl", "cosine", "intersection"]
# 4 subjects x 5 folds x 2 seeds x (3 methods + the stimulus-consensus reference) = 160 jobs:
# long enough to kill a worker mid-run.
# `--folds all`: every trial tested once (the 5 splits of the default design).
RUN = ["run", "--methods", "prior,aa-knn,pt-svm", "--preset", "smoke", "--folds", "all", "--seeds", "0,1"]
N_JOBS = 160


def env(root: Path = ROOT) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "BENCHMARK_QUIET": "1", "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def processes():
    """Start processes through the yielded function; all are killed (their groups) on exit."""
    started: list[subprocess.Popen] = []

    def start(args, cwd=ROOT, environ=None, **kw):
        p = subprocess.Popen(args, cwd=cwd, env=environ or env(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        started.append(p)
        return p

    try:
        yield start
    finally:
        for p in started:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for p in started:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the nanny's child too, if it outlived the nanny
            except ProcessLookupError:
                pass
            p.wait()


def start_cluster(start, n_workers: int, worker_root: Path = ROOT) -> tuple[str, list[subprocess.Popen]]:
    """`dask scheduler` and ``n_workers`` `dask worker` processes on 127.0.0.1; waits until joined."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
    workers = [start([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                      "--name", f"w{i}"], cwd=worker_root, environ=env(worker_root)) for i in range(n_workers)]
    deadline = time.time() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(n_workers, timeout=max(1, deadline - time.time()))
            return address, workers
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def cli(args, check=True):
    p = subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=ROOT, env=env(),
                       capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def metrics(out: Path) -> pd.DataFrame:
    res = pd.read_csv(out / "results.csv")
    assert len(res) == N_JOBS and (res.status == "ok").all()
    return res.sort_values("key").set_index("key")[METRICS]


@pytest.mark.slow  # about 110 s: three runs of 160 jobs
def test_cluster_matches_local_and_survives_a_killed_worker(tmp_path):
    cli([*RUN, "--n-jobs", "1", "--out", tmp_path / "local"])
    local = metrics(tmp_path / "local")
    with processes() as start:
        address, workers = start_cluster(start, 2)
        cli([*RUN, "--scheduler", address, "--out", tmp_path / "dask"])
        pd.testing.assert_frame_equal(metrics(tmp_path / "dask"), local, check_exact=True)

        out = tmp_path / "killed"
        run = start([sys.executable, "-m", "benchmark", *RUN, "--scheduler", address, "--out", str(out)])
        records = out / "records"
        deadline = time.time() + 120
        while not (records.is_dir() and len(list(records.glob("*.json"))) >= 5):
            assert run.poll() is None and time.time() < deadline, "the run ended before the kill"
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)  # the nanny and its worker process, no goodbye
        done_at_kill = len(list(records.glob("*.json")))
        assert done_at_kill < N_JOBS
        status = run.wait(timeout=600)
        # Shown with `pytest -rP`: what the kill interrupted and how the run ended.
        print(f"killed worker w0 (pid {workers[0].pid}) with SIGKILL after {done_at_kill} of {N_JOBS} "
              f"records; the run exited {status}")
        if status != 0:  # the run stopped: the same command resumes it, computing only the rest
            resumed = cli([*RUN, "--scheduler", address, "--out", out])
            assert f"{done_at_kill}" in resumed.stdout or "cached" in resumed.stdout
        pd.testing.assert_frame_equal(metrics(out), local, check_exact=True)


def test_worker_with_other_code_is_refused(tmp_path):
    other = tmp_path / "checkout"
    from benchmark.fastpath import PACKAGES

    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, other / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "methods" / "aa_knn.py", "a") as f:
        f.write("\n# a local edit the client does not have\n")
    with processes() as start:
        address, _ = start_cluster(start, 1, worker_root=other)
        p = cli([*RUN, "--scheduler", address, "--out", tmp_path / "refused"], check=False)
    assert p.returncode == 2, p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: worker tcp://127.0.0.1:") and "runs code" in lines[-1]
    assert "Traceback" not in p.stderr
    assert not list((tmp_path / "refused").glob("records/*.json"))
