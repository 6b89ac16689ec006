"""Per-subject feature cache shared by the real-data loaders.

Each subject's features are stored as one ``.npz`` (no pickles) whose name is a hash of the
subject's raw files (their bytes), the recipe version, the source of the data package and the
extraction options: editing a raw file, a recipe or an option re-extracts the affected subjects
(an edit anywhere in ``datasets/`` re-extracts every cached subject: never a stale feature). Subjects are
extracted in parallel with joblib behind a progress bar. A subject whose extraction fails does
not cost the others: every successful subject is written to the cache first, then one
`DataError` lists the failures, each naming its file.

Also here: where the raw data lives (``data_root`` or ``MIXED_EMOTION_DATA``) and where the
cache lives (``cache_dir`` or ``MIXED_EMOTION_CACHE``, default ``~/.cache/mixed-emotion-benchmark``).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from joblib import Parallel, delayed

from core.files import default_mode

from .base import DataError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SubjectTask:
    """One subject to extract: ``fn(**kwargs)`` -> dict of arrays, from ``files``."""

    subject: str
    files: tuple[Path, ...]
    fn: Callable[..., dict]
    kwargs: dict = field(default_factory=dict, hash=False)


def resolve_root(data_root: str | os.PathLike | None, dataset: str, how_to_get: str) -> Path:
    """The dataset folder from ``data_root`` or ``$MIXED_EMOTION_DATA`` (or its ``dataset`` subfolder)."""
    root = data_root if data_root is not None else os.environ.get("MIXED_EMOTION_DATA")
    if root is None:
        raise DataError(f"{dataset}: no data root given; pass --data-root PATH (loader option "
                        f"data_root) or set MIXED_EMOTION_DATA. {how_to_get}")
    root = Path(root).expanduser()
    for sub in (root / dataset, root / dataset.replace("-", "_")):
        if sub.is_dir():
            return sub
    if root.is_dir():
        return root
    raise DataError(f"{dataset}: data root {root} does not exist. {how_to_get}")


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    root = cache_dir or os.environ.get("MIXED_EMOTION_CACHE") or Path.home() / ".cache" / "mixed-emotion-benchmark"
    return Path(root).expanduser()


@functools.cache
def recipe_source() -> bytes:
    """The source of every module that turns raw files into features (this package's loaders,
    readers and ``features/``): part of every cache key, so an edited recipe can never be served
    from a cache filled by the old one, whether or not its version was bumped."""
    root = Path(__file__).parent
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*.py")))


def content_hash(files: Sequence[Path], recipe: str, options: dict) -> str:
    """SHA-256 over the files' names and bytes, the recipe version and source, and the options
    (JSON)."""
    h = hashlib.sha256()
    h.update(recipe.encode())
    h.update(recipe_source())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    for path in files:
        h.update(Path(path).name.encode())
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()[:24]


def _save(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        os.chmod(tmp, default_mode())  # mkstemp's 0600 would hide a shared cache from the group
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # unreadable cache entry: extract again
        return None


def _run(task: SubjectTask) -> tuple[str, dict | None, str | None]:
    try:
        return task.subject, task.fn(**task.kwargs), None
    except Exception as exc:  # reported together after the other subjects are cached
        return task.subject, None, f"{type(exc).__name__}: {exc}"


def extract_subjects(dataset: str, tasks: Sequence[SubjectTask], recipe: str, options: dict,
                     cache_dir: str | os.PathLike | None = None, n_jobs: int = 1,
                     use_cache: bool = True) -> dict[str, dict]:
    """Features of every task's subject, from the cache or extracted (in parallel) and cached."""
    from core.progress import progress

    folder = cache_root(cache_dir) / dataset
    out: dict[str, dict] = {}
    todo: list[tuple[SubjectTask, Path]] = []
    for task in tasks:
        try:
            key = content_hash(task.files, recipe, options)
        except OSError as exc:
            raise DataError(f"{dataset} subject {task.subject}: cannot read {exc.filename}: {exc.strerror}") from exc
        path = folder / f"{task.subject}-{key}.npz"
        hit = _load(path) if use_cache and path.exists() else None
        if hit is not None:
            out[task.subject] = hit
        else:
            todo.append((task, path))
    errors = []
    if todo:
        paths = {t.subject: p for t, p in todo}
        jobs = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_run)(t) for t, _ in todo)
        for subject, arrays, err in progress(jobs, total=len(todo), desc=f"{dataset} features"):
            if err is not None:
                errors.append(f"subject {subject}: {err}")
                continue
            if use_cache:
                _save(paths[subject], arrays)
            out[subject] = arrays
    if errors:
        raise DataError(f"{dataset}: feature extraction failed for {len(errors)} subject(s) "
                        f"(the other subjects' features are cached):\n  " + "\n  ".join(errors))
    return {t.subject: out[t.subject] for t in tasks}
