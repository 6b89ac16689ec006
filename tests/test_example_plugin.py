"""The example plugin package (examples/plugin) installs, is discovered through its entry
point, and its own test — the suite's public conformance checks — passes.

Offline: pip builds it with the setuptools of this environment (``--no-build-isolation``) into
a throwaway ``--target`` directory, from a copy so no build files land in the checkout. The
suite itself goes on PYTHONPATH, as it does for any plugin.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"


def _install(tmp_path) -> tuple[Path, dict]:
    source, target = tmp_path / "src", tmp_path / "site"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    return target, {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{target}", "BENCHMARK_QUIET": "1"}


def test_example_plugin_installs_is_listed_and_passes_its_own_checks(tmp_path):
    target, env = _install(tmp_path)

    listed = subprocess.run([sys.executable, "-m", "benchmark", "list", "methods"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["ridge-ldl", "LDL"] for line in listed.stdout.splitlines()), listed.stdout

    # From the install directory, so the installed copy is the one imported; the suite's
    # checkout is on PYTHONPATH only.
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", str(PLUGIN / "tests")], cwd=target,
                         env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert own.returncode == 0 and " passed" in own.stdout, own.stdout + own.stderr


def test_editing_an_installed_plugin_recomputes_its_jobs(tmp_path):
    """The warm re-run fast path compares the source of every method outside the suite's
    packages: after the installed plugin's ``predict`` is edited, the same command recomputes
    that method's jobs instead of printing the old table."""
    target, env = _install(tmp_path)
    cmd = [sys.executable, "-m", "benchmark", "run", "--methods", "ridge-ldl", "--preset", "smoke",
           "--n-jobs", "1", "--out", str(tmp_path / "run")]

    def run():
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    run()
    assert "nothing changed" in run()
    module = target / "mixed_emotion_ridge" / "ridge.py"
    text = module.read_text()
    assert "def predict(self, data) -> np.ndarray:" in text
    module.write_text(text.replace("def predict(self, data) -> np.ndarray:",
                                   "def predict(self, data) -> np.ndarray:\n        # edited after the first run"))
    again = run()
    assert "nothing changed" not in again and "computed" in again, again
    computed = re.search(r"\d+ jobs \((\d+) computed", again)
    assert computed and int(computed.group(1)) > 0, again
