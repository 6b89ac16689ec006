"""The Python API: the example notebook runs, load() returns what run() returned, and
bad input stops before any work with the same errors the command line gives."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import benchmark
from benchmark.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKSTART_OUT", str(tmp_path / "quick"))
    ns = runpy.run_path(str(ROOT / "examples" / "quickstart.py"))
    res = ns["res"]
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
