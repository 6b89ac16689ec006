"""The Python API: the example notebook runs, load() returns what run() returned, and
bad input stops before any work with the same errors the command line gives."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import benchmark
from benchmark.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_example_runs_as_its_header_says(tmp_path):
    """``PYTHONPATH=. python examples/quickstart.py`` from the repository root, as the file's
    header (and docs/getting-started.md) says: a subprocess with exactly that import path, so a
    notebook that only works inside pytest's import setup fails here."""
    header = (ROOT / "examples" / "quickstart.py").read_text()
    assert "    PYTHONPATH=. python examples/quickstart.py\n" in header
    out = tmp_path / "quick"
    env = {**os.environ, "PYTHONPATH": ".", "QUICKSTART_OUT": str(out)}
    done = subprocess.run([sys.executable, "examples/quickstart.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ShrunkRidge" in done.stdout and "kl_trial" in done.stdout
    res = benchmark.load(out)
    assert set(res.frame["label"]) == {"Prior", "Oracle (stimulus) ‡", "AA-KNN", "ShrunkRidge"}
    assert (res.frame["status"] == "ok").all() and set(res.frame["seed"]) == {0, 1}
    assert res.tables and res.tables[0].title in res.stats


def test_bad_options_stop_before_any_work(tmp_path):
    out = tmp_path / "never"
    for kwargs, culprit in [({"methods": ["mpcl[epochs=-5]"]}, "epochs"),
                            ({"methods": ["prior"], "n_splits": 1}, "--n-splits"),
                            ({"methods": ["prior"], "colour": "red"}, "colour")]:
        with pytest.raises(UsageError, match=culprit):
            benchmark.run(out=out, preset="smoke", **kwargs)
    assert not out.exists()


def test_import_benchmark_stays_light():
    code = ("import sys, benchmark; heavy = [m for m in ('numpy', 'torch', 'pandas') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert out.stdout.strip() == ""
