"""Warm re-runs in a moment: when nothing can have changed, print the finished table.

A re-run of a finished run normally re-plans every job (importing every method and building
the dataset) only to find every record cached. That work can be skipped when all of these
hold, which is checked without importing methods or data:

- the request (methods as typed, dataset and options, protocol and options, preset, seeds) is
  the one the run directory's ``run.json`` records;
- the code fingerprint (every ``.py`` file of the suite's packages, plus the registered
  entry-point plugins) is unchanged, so no method, loader or metric changed;
- the source of every method the run used that lives outside the suite's packages (an installed
  plugin, a ``module:Class`` method) is unchanged: the manifest records a hash of each such
  module's file, found again here without importing it; a class defined in a notebook or script
  (``__main__``) has no file to compare, so such a run always takes the full path;
- the dataset is generated from code (``synthetic*``), so its content is covered by the code
  fingerprint (real datasets always take the full path: their files may change);
- every expected job has a valid, finished record, read and verified by the one reader every
  command uses (`benchmark.rundir.RunDir.read_record`: schema, predictions checksum, and
  metrics re-derived from the predictions), none of them needing a correction, and ``table.md``
  is newer than all of them. A record whose stored numbers disagree with its predictions is
  named there and corrected, and the full path renders the table again from the true values.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

from .errors import RunDirError
from .manifest import request_hash
from .rundir import RunDir, read_manifest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "core", "datasets", "methods", "protocols", "reports")
ENTRY_POINT_GROUP = "mixed_emotion_benchmark.methods"


def code_fingerprint() -> str:
    h = hashlib.sha256()
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        h.update(f"{ep.name}={ep.value}".encode())
    return h.hexdigest()[:16]


def _module_file(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.has_location else None


def _file_hash(path: Path | None) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path is not None else None
    except OSError:
        return None


def method_sources(classes) -> dict[str, str | None]:
    """Module name -> hash of its file, for each method class defined outside the suite's
    packages (those are covered by `code_fingerprint`); None for a class without a file
    (``__main__`` of a notebook), which `cached_table` never trusts."""
    out = {}
    for cls in classes:
        module = cls.__module__
        if module.split(".")[0] in PACKAGES:
            continue
        out[module] = None if module == "__main__" else _file_hash(_module_file(module))
    return dict(sorted(out.items()))


def _sources_unchanged(sources: dict) -> bool:
    return all(digest is not None and _file_hash(_module_file(module)) == digest
               for module, digest in sources.items())


def cached_table(rundir: RunDir, request: dict) -> str | None:
    """The finished ``table.md`` of the run in ``rundir`` if re-running ``request`` would
    compute nothing and render the same table; otherwise None (take the full path)."""
    if not request.get("dataset", "synthetic").startswith("synthetic"):
        return None
    try:
        manifest = read_manifest(rundir.manifest_path)
        table = rundir.table_path("md")
        if (manifest.request != request_hash(request) or manifest.code != code_fingerprint()
                or not _sources_unchanged(manifest.sources)):
            return None
        newest = 0.0  # run.json is left out: `run` notes its wall time there after the table
        for key in manifest.jobs:
            path = rundir.record_path(key)
            rec = rundir.read_record(key)
            if rec is None or rec.get("status") != "ok" or str(path) in rundir.problems:
                return None  # named by the reader; the full path recomputes or re-renders it
            newest = max(newest, path.stat().st_mtime)
        if table.stat().st_mtime < newest:
            return None
        return table.read_text()
    except (OSError, ValueError, KeyError, TypeError, RunDirError):
        return None
