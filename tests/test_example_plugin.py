"""The example plugin package (examples/plugin) installs, is discovered through its entry
point, and its own test — the suite's public conformance checks — passes.

Offline: pip builds it with the setuptools of this environment (``--no-build-isolation``) into
a throwaway ``--target`` directory, from a copy so no build files land in the checkout. The
suite itself goes on PYTHONPATH, as it does for any plugin.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"


def test_example_plugin_installs_is_listed_and_passes_its_own_checks(tmp_path):
    source, target = tmp_path / "src", tmp_path / "site"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{target}", "BENCHMARK_QUIET": "1"}

    listed = subprocess.run([sys.executable, "-m", "benchmark", "list", "methods"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["ridge-ldl", "LDL"] for line in listed.stdout.splitlines()), listed.stdout

    # From the install directory, so the installed copy is the one imported; the suite's
    # checkout is on PYTHONPATH only.
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", str(PLUGIN / "tests")], cwd=target,
                         env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout + own.stderr
