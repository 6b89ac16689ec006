"""Shared fixtures: small synthetic data, the shared real-data folder, a conformance split."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCHMARK_QUIET", "1")
# One BLAS/torch thread per test process, as the runner uses per job: on a small machine
# oversubscribed threads make the torch tests many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    import torch

    torch.set_num_threads(1)

SHARED_DATA = Path(os.environ.get("MIXED_EMOTION_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data(sub: str) -> Path:
    """A folder of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set MIXED_EMOTION_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def small_data():
    from methods.checks import conformance_data

    return conformance_data()


@pytest.fixture(scope="session")
def small_wesad():
    from datasets.synthetic import make_synthetic_wesad

    return make_synthetic_wesad(n_subjects=4, n_windows=8, seed=1)


@pytest.fixture(scope="session")
def conformance_split():
    """A pooled random 70/10/20 train/val/test split of the small synthetic set: the public
    conformance checks' own (methods.checks), so a test and a check see the same data."""
    from methods.checks import conformance_split

    return conformance_split()
