"""Fixed numpy workloads that the gate divides by: they make ratios, not seconds, carry between machines."""
from __future__ import annotations

import numpy as np

MATMUL_N = 256


def matmul_operands(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32),
            rng.standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32))


def matmul(a: np.ndarray, b: np.ndarray, repeats: int = 20) -> np.ndarray:
    """``repeats`` float32 256×256 products (about 0.7 GFLOP): the unit of the gate's ratios."""
    out = a
    for _ in range(repeats):
        out = np.tanh(out @ b / MATMUL_N)
    return out
