"""Provenance recorded in every result record: package versions, git commit, host."""
from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path

PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "joblib")


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"versions": versions, "python": platform.python_version(), "git_commit": commit,
            "host": platform.node()}
