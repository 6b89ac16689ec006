"""The fixed numpy reference workload, timed in the same run as everything it is compared with."""
import time

import pytest

from .perf_reference import matmul, matmul_operands

pytestmark = [pytest.mark.benchmark(group="reference", timer=time.process_time), pytest.mark.perf_gate]


def test_numpy_matmul_reference(benchmark):
    a, b = matmul_operands()
    benchmark.pedantic(matmul, args=(a, b), rounds=15, warmup_rounds=2)
