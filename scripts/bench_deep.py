"""Training throughput and peak memory of deep methods on CPU. Prints figures; asserts nothing.

    PYTHONPATH=. python scripts/bench_deep.py maet carat tical            # quick, subject-dependent
    PYTHONPATH=. python scripts/bench_deep.py emotiondict helo --protocol loso --preset quick

Each method runs in a fresh subprocess (one torch thread) on fold 0 of the default synthetic set
(16 subjects x 256 windows). Reported: training samples/s (samples seen per epoch x epochs run /
fit time, imports and the first optimiser construction excluded), the fit time, the epochs run,
the parameter count, and peak resident memory (ru_maxrss of the child) with the part the fit
added over the process's size just before fitting.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, preset: str, protocol: str) -> None:
    """Fit one method on fold 0 and print one JSON line of measurements."""
    import torch

    from benchmark.registry import MethodSpec
    from datasets.synthetic import make_synthetic
    from protocols.splits import get_splitter

    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pay the one-off optimiser import now
    data = make_synthetic()
    fold = get_splitter(protocol)(data.meta)[0]
    train, val = data.subset(fold.train), data.subset(fold.val)
    method = MethodSpec(name).build(preset, random_state=0)
    before = _rss_mb()
    t0 = time.perf_counter()
    method.fit(train, val)
    fit_s = time.perf_counter() - t0
    epochs = len(getattr(method, "history_", [])) or 1
    print(json.dumps(dict(method=name, n_train=len(train), epochs=epochs, fit_s=fit_s,
                          samples_per_s=len(train) * epochs / fit_s, params=method.n_parameters(),
                          peak_mb=_rss_mb(), fit_added_mb=_rss_mb() - before)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("methods", nargs="+")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--protocol", default="subject-dependent")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.methods[0], args.preset, args.protocol)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1", "OMP_NUM_THREADS": "1"}
    print(f"preset={args.preset} protocol={args.protocol} fold 0, default synthetic set, CPU, 1 thread")
    print(f"{'method':<14}{'n_train':>8}{'epochs':>7}{'fit s':>8}{'samples/s':>11}{'params':>10}"
          f"{'peak MB':>9}{'fit +MB':>9}")
    for name in args.methods:
        p = subprocess.run([sys.executable, __file__, name, "--child", "--preset", args.preset,
                            "--protocol", args.protocol], cwd=ROOT, env=env, capture_output=True, text=True)
        if p.returncode:
            print(f"{name:<14} failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{name:<14}{r['n_train']:>8}{r['epochs']:>7}{r['fit_s']:>8.2f}{r['samples_per_s']:>11.0f}"
              f"{r['params']:>10}{r['peak_mb']:>9.0f}{r['fit_added_mb']:>9.0f}")


if __name__ == "__main__":
    main()
