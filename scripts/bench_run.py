"""Benchmark of the runner itself (issue 7 targets). Prints figures; asserts nothing.

    PYTHONPATH=. python scripts/bench_run.py default   # --methods all, quick: wall time + per-method breakdown
    PYTHONPATH=. python scripts/bench_run.py speedup   # --n-jobs 1 vs 2 on the same jobs
    PYTHONPATH=. python scripts/bench_run.py warm      # re-run of a finished run (all cached)
    PYTHONPATH=. python scripts/bench_run.py memory    # peak RSS of a LOSO run on full-scale synthetic DMER

Each measurement runs the CLI in a fresh subprocess (so imports count, as for a user) in a
temporary run directory; peak memory is the maximum RSS of
the process tree: the CLI and its joblib workers, summed, sampled every 0.2 s).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1"}


def cli(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=ENV,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit(p.stderr)
    return wall, p.stdout


def default(methods: str = "all") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wall, out = cli("run", "--methods", methods, "--out", f"{tmp}/run")
        print(next(line for line in out.splitlines() if line.startswith("Time per method")))
        print(f"default run (--methods {methods}, quick, 1 job): {wall:.1f} s")


def speedup(methods: str = "all") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        w1, _ = cli("run", "--methods", methods, "--out", f"{tmp}/one", "--n-jobs", "1")
        w2, _ = cli("run", "--methods", methods, "--out", f"{tmp}/two", "--n-jobs", "2")
        print(f"--n-jobs 1: {w1:.1f} s, --n-jobs 2: {w2:.1f} s, speed-up {w1 / w2:.2f}x")


def warm(methods: str = "all") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold, _ = cli("run", "--methods", methods, "--out", f"{tmp}/run")
        hot, _ = cli("run", "--methods", methods, "--out", f"{tmp}/run")
        print(f"cold {cold:.1f} s, warm re-run (all cached) {hot:.2f} s")


def memory(methods: str = "prior,aa-knn") -> None:
    """Peak of the summed RSS of the CLI process and all its workers, sampled every 0.2 s."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--methods", methods,
                              "--protocol", "loso", "--n-jobs", "2", "--dataset-option",
                              "full_scale=true", "--out", f"{tmp}/run"], cwd=ROOT, env=ENV,
                             stdout=subprocess.DEVNULL)
        proc, peak = psutil.Process(p.pid), 0
        while p.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(q.memory_info().rss for q in tree))
            except psutil.Error:
                pass
            time.sleep(0.2)
        wall = time.perf_counter() - t0
    print(f"LOSO on full-scale synthetic DMER (73 subjects), {methods}, 2 jobs: {wall:.1f} s, "
          f"peak summed RSS {peak / 2**20:.0f} MB")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "default"
    {"default": default, "speedup": speedup, "warm": warm, "memory": memory}[what](*sys.argv[2:])
