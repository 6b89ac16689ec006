"""The classical LDL methods give the same predictions whichever math kernels the CPU selects
(docs/reproducibility.md).

numpy/scipy's OpenBLAS, torch's ATen and MKL each pick vectorised kernels for the processor at
hand, which round differently. A numerically stable method turns those last-bit differences
into last-bit differences of its predictions; an unstable one amplified them: TLR-DL's
Woodbury W-step (its KL moved by 30 % between CPUs) and SA-CPNN's float32 Rprop (sign
decisions on gradients at rounding level; 8e-2 apart here without early stopping).

Each case fits in two subprocesses: one under the machine's default kernels, one forced to
kernels every x86-64 CPU can run (OpenBLAS Prescott, MKL SSE4.2, ATen's default). On a CPU
whose default already is that, the test compares a kernel with itself and passes trivially.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

FORCED = {"OPENBLAS_CORETYPE": "Prescott", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
          "ATEN_CPU_CAPABILITY": "default"}
METHODS = ("prior", "aa-knn", "pt-svm", "sa-cpnn", "ldl-lrr", "tlr-dl", "cad")

# Nine labels, four distinct label rows chosen by the features (as in a trial split, where a
# subject's windows share their trial's label): TLR-DL's A = WᵀXᵀ is rank-deficient, the case
# that broke its Woodbury step. No validation part: SA-CPNN and CAD train every epoch.
FIT = """
import sys
import numpy as np, pandas as pd
from methods.registry import MethodSpec
from datasets.base import FeatureSet

rng = np.random.default_rng(0)
n, p, c = 160, 30, 9
x = rng.standard_normal((n, p)).astype(np.float32)
rows = rng.dirichlet(np.ones(c), size=4)
labels = rows[np.argmax(x[:, :4] + 0.5 * rng.standard_normal((n, 4)), axis=1)]
meta = pd.DataFrame({"subject": 0, "trial": np.arange(n), "window": 0})
data = FeatureSet({"f": x}, {"f": "primary"}, labels, [f"e{j}" for j in range(c)],
                  np.ones(c, dtype=int), meta)
train, test = data.subset(np.arange(120)), data.subset(np.arange(120, n))
out = {name: MethodSpec(name).build("quick", random_state=0).fit(train).predict(test)
       for name in sys.argv[2].split(",")}
np.savez(sys.argv[1], **out)
"""


def _predict(path, forced: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in FORCED}
    env.update(FORCED if forced else {})
    env.update(PYTHONPATH=str(ROOT), BENCHMARK_QUIET="1", OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", FIT, str(path), ",".join(METHODS)], env=env,
                   cwd=ROOT, check=True, timeout=600)
    with np.load(path) as f:
        return dict(f)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the forced kernels are x86-64 ones")
def test_classical_methods_agree_across_math_kernels(tmp_path):
    native, forced = _predict(tmp_path / "native.npz", False), _predict(tmp_path / "forced.npz", True)
    gaps = {name: float(np.abs(native[name] - forced[name]).max()) for name in METHODS}
    # Measured: ≤ 1e-9 (TLR-DL 5e-10, the others ≤ 1e-15); before the fixes TLR-DL 9e-4 and
    # SA-CPNN 8e-2. 1e-7 leaves two orders of margin and still catches both.
    assert max(gaps.values()) < 1e-7, gaps
