"""End-to-end CLI runs (``--perf-slow`` only): default run at --n-jobs 1 and 2, a warm re-run, and
peak memory of LOSO on full-scale synthetic DMER. Timed in wall-clock seconds (the work is in
child processes), one round each, in a fresh subprocess so imports count as for a user.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1"}
pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="run", timer=time.perf_counter)]


def cli(*args: str) -> None:
    p = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=ENV,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):  # 1 = some method failed, still a finished run
        raise RuntimeError(p.stderr[-2000:])


@pytest.mark.parametrize("n_jobs", ["1", "2"])
def test_default_run(benchmark, n_jobs, tmp_path):
    benchmark.pedantic(cli, args=("run", "--n-jobs", n_jobs, "--out", str(tmp_path / "run")), rounds=1)


def test_warm_rerun(benchmark, tmp_path):
    out = str(tmp_path / "run")
    cli("run", "--n-jobs", "2", "--out", out)
    benchmark.pedantic(cli, args=("run", "--n-jobs", "2", "--out", out), rounds=1)


def test_full_scale_loso_peak_memory(benchmark, tmp_path):
    """Peak summed RSS of the CLI and its workers (sampled every 0.2 s) on 73-subject LOSO."""
    import psutil

    peak = []

    def run():
        p = subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--methods", "prior,aa-knn",
                              "--protocol", "loso", "--n-jobs", "2", "--dataset-option",
                              "full_scale=true", "--out", str(tmp_path / "run")],
                             cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc, top = psutil.Process(p.pid), 0
        while p.poll() is None:
            try:
                top = max(top, sum(q.memory_info().rss for q in [proc, *proc.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.2)
        peak.append(top)

    benchmark.pedantic(run, rounds=1)
    benchmark.extra_info["peak_rss_mb"] = peak[-1] / 2**20
