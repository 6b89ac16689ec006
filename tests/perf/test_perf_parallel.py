"""What the second worker buys: one small run on one worker and on two, in one session, in
wall-clock seconds (the work is in child processes; each run is a fresh CLI, so start-up,
planning, shipping the data to the workers and the tail all count, as for a user).

The gate (tests/perf/gate.py) divides the two: it catches a pool that serialises, ships the
dataset with every job, starts its long jobs last or waits on slow worker start-up. The run is
six methods (four deep, two classical) on two folds of each subject of the quick synthetic set:
160 jobs, ~50 CPU seconds, so that the fixed costs (the CLI's imports, the workers' start-up,
a few seconds) do not decide the ratio; the bound is loose (a serialised pool gives 1.0). It
is meant for a CI machine running nothing else: Linux shares CPU between sessions
(autogroups), so while other sessions keep the cores busy a run gets the same share with one
worker or two and the ratio drops below 1 (docs/speed.md). The full default run's ratio is
measured with ``--perf-slow`` (``test_default_run``).
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
METHODS = "maet,carat,tical,cad,pt-svm,ldl-lrr"
pytestmark = [pytest.mark.perf_gate, pytest.mark.benchmark(group="parallel", timer=time.perf_counter)]


@pytest.mark.parametrize("n_jobs", ["1", "2"])
def test_parallel_run(benchmark, n_jobs, tmp_path):
    rounds = iter(range(100))

    def run():
        out = tmp_path / f"run{next(rounds)}"  # a fresh directory: nothing is cached
        p = subprocess.run([sys.executable, "-m", "benchmark", "run", "--methods", METHODS,
                            "--folds", "2", "--n-jobs", n_jobs, "--out", str(out)],
                           cwd=ROOT, env=ENV, capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError(p.stderr[-2000:])

    benchmark.extra_info.update(methods=METHODS, n_jobs=int(n_jobs), cpus=os.cpu_count(),
                                load_before=os.getloadavg()[0])
    benchmark.pedantic(run, rounds=1)
