"""Training throughput of MPCL and of its ``w/ TransEnc`` variant on the same data, CPU.

Measures samples/s of full training steps (forward, the MPCL loss, backward, Adam) on the
default synthetic set, with one thread and with torch's default thread count, and prints the
step-time ratio MPCL / TransEnc (target ≤ 1.2: the Hopfield modules should cost no more than
the attention they replace). Process CPU time is reported beside wall time because the machine
may be shared. Usage::

    .venv/bin/python scripts/bench_mpcl.py [--preset quick] [--batch-size 128] [--steps 20]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.registry import MethodSpec  # noqa: E402
from datasets.synthetic import make_synthetic  # noqa: E402


def step_seconds(variant: str, data, preset: str, batch_size: int, steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds per training step of ``mpcl[variant]``, after two warm-up steps."""
    method = MethodSpec("mpcl", variant).build(preset, random_state=0, epochs=1, device="cpu")
    method.fit(data.subset(np.arange(batch_size)))  # builds the network and the scaling
    net, opt = method.network_.train(), torch.optim.Adam(method.network_.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batches = [method._to_batch(data, rng.choice(len(data), batch_size, replace=False))
               for _ in range(steps + 2)]

    def step(batch) -> None:
        opt.zero_grad()
        method.loss(net(batch), batch).backward()
        opt.step()

    for batch in batches[:2]:
        step(batch)
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches[2:]:
        step(batch)
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    data = make_synthetic()
    default_threads = torch.get_num_threads()
    print(f"data: default synthetic ({len(data)} windows); preset {args.preset}; "
          f"batch {args.batch_size}; {args.steps} steps")
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        times = {v: step_seconds(v, data, args.preset, args.batch_size, args.steps)
                 for v in ("", "w/ TransEnc")}
        for v, (wall, cpu) in times.items():
            name = f"mpcl[{v}]" if v else "mpcl"
            print(f"threads={threads} {name:18s} {args.batch_size / wall:8.0f} samples/s (wall)  "
                  f"{args.batch_size / cpu:8.0f} samples/s (CPU time)  step {1e3 * wall:7.1f} ms")
        ratio_wall = times[""][0] / times["w/ TransEnc"][0]
        ratio_cpu = times[""][1] / times["w/ TransEnc"][1]
        print(f"threads={threads} step-time ratio MPCL / TransEnc: {ratio_wall:.2f} (wall), "
              f"{ratio_cpu:.2f} (CPU time); target <= 1.2")


if __name__ == "__main__":
    main()
