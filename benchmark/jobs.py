"""Jobs: one fit/predict of one method on one fold with one seed, identified by a hash.

A job's key is the SHA-256 of its canonical JSON config: method (name, variant, explicit
params, preset, code version, a hash of its source and of the modules it imports from the
suite or its own package (`source_files`), tuning budget when tuned), dataset (name, options,
content fingerprint), protocol (name, options, split seed, fold, and a hash of the
fold's train, validation and test indices), dropped modalities, seed, and a hash of the code
every job shares (`SHARED_CODE`: the method base classes and training loop, the data
container and normalisation, the worker and the tuner, this module). Re-running skips keys
already recorded, so a killed run resumes and adding a method runs only that method; changing
any of these gives new keys, never a stale cached result. What is not in the key cannot go
stale either: feature recipes are in the dataset's content fingerprint (the feature cache is
keyed by the recipes' source), metrics are re-scored from stored predictions when their
definitions change (`benchmark.records`).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.base import FeatureSet
from protocols import Fold
from methods.registry import MethodSpec


ROOT = Path(__file__).resolve().parents[1]
# Code that shapes every job's result, whatever the method (paths from the repository root).
SHARED_CODE = ("methods/base.py", "methods/training.py", "methods/nn_blocks.py", "methods/ldl_utils.py",
               "datasets/base.py", "datasets/normalize.py", "benchmark/worker.py",
               "benchmark/tuning.py", "benchmark/jobs.py")


@functools.cache
def shared_code_hash() -> str:
    h = hashlib.sha256()
    for rel in SHARED_CODE:
        h.update(rel.encode() + (ROOT / rel).read_bytes())
    return h.hexdigest()[:16]


def _module_file(base: Path, dotted: str) -> Path | None:
    """``dotted`` (``a.b``) under ``base`` as ``a/b.py`` or ``a/b/__init__.py``, if it exists."""
    stem = base.joinpath(*dotted.split(".")) if dotted else base
    for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_files(path: Path, own: tuple[Path, str] | None) -> set[Path]:
    """The files of the modules ``path`` imports that a run can edit: the project's own modules,
    relative imports, and absolute imports of ``own`` = (import root, top-level package) of a
    plugin outside the project (never third-party packages). Parsed, not imported, and
    anywhere in the file (an import inside a function counts too)."""
    def root_of(dotted: str) -> Path:
        return own[0] if own and dotted.split(".")[0] == own[1] else ROOT

    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [(root_of(a.name), a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = path.parents[node.level - 1] if node.level else root_of(node.module or "")
            targets = [(base, node.module or "")]
            # ``from pkg import name``: ``name`` may be a submodule rather than an attribute
            targets += [(base, f"{node.module}.{a.name}" if node.module else a.name) for a in node.names]
        else:
            continue
        found.update(f for base, dotted in targets if (f := _module_file(base, dotted)) is not None)
    return found


@functools.cache
def source_files(path: Path, own: tuple[Path, str] | None = None) -> tuple[Path, ...]:
    """A method's module (or every file of its package, MPCL) and, transitively, every file it
    imports from the project, relatively, or from its own package (``own``, see
    `_imported_files`): an edit to a helper such as PT-SVM's ``methods/svm_probability.py`` or
    the oracle's ``methods/prior.py`` changes the keys of the methods that use it, not only an
    edit to their own module."""
    todo = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    seen: set[Path] = set()
    while todo:
        f = todo.pop().resolve()
        if f not in seen:
            seen.add(f)
            todo.extend(_imported_files(f, own) - seen)
    return tuple(sorted(seen))


@functools.cache
def source_hash(cls: type) -> str:
    """Hash of a method's source (`source_files`: its module or package and what they import
    from the project or from their own package), or, for a class defined in a notebook or
    script, the class's own source."""
    path = inspect.getsourcefile(cls)
    if path and Path(path).exists():
        path = Path(path).resolve()
        parts = cls.__module__.split(".")
        depth = len(parts) if path.name == "__init__.py" else len(parts) - 1
        own = (path.parents[depth], parts[0]) if depth < len(path.parents) else None
        # each file's digest, sorted: neither where the files are nor their order moves a key
        data = b"".join(sorted(hashlib.sha256(f.read_bytes()).digest() for f in source_files(path, own)))
    else:
        try:
            data = inspect.getsource(cls).encode()
        except (OSError, TypeError):  # no source to be had: the class's identity, at least
            data = f"{cls.__module__}.{cls.__qualname__}".encode()
    return hashlib.sha256(data).hexdigest()[:16]


def canonical_json(obj) -> str:
    """JSON with sorted keys and no whitespace: equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def fold_hash(fold: Fold) -> str:
    """Content hash of a fold's train, validation and test indices: two splitters (or two
    versions of one) that deal different folds never share records."""
    h = hashlib.sha256()
    for part in (fold.train, fold.val, fold.test):
        h.update(np.asarray(part, dtype=np.int64).tobytes() + b"|")
    return h.hexdigest()[:16]


def fingerprint(data: FeatureSet) -> str:
    """Content hash of a dataset (features, labels, meta, roles): its version in job keys."""
    h = hashlib.sha256()
    for m in sorted(data.modalities):
        h.update(m.encode() + data.roles[m].encode())
        h.update(np.ascontiguousarray(data.modalities[m]).tobytes())
    h.update(np.ascontiguousarray(data.labels).tobytes())
    h.update(data.meta[["subject", "trial", "window"]].to_csv(index=False).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """Everything that determines one result record."""

    method: MethodSpec
    dataset: str
    dataset_options: dict
    data_fingerprint: str
    protocol: str
    protocol_options: dict
    fold: int
    block: str
    preset: str
    seed: int
    split_seed: int = 0
    fold_hash: str = ""
    block_kind: str = "subject"  # what a block is (protocols.Protocol.block_kind); not in the key
    # source_hash of the method, taken where the job is planned: a worker that unpickles a
    # class defined in a notebook may not see the same source file
    source: str = ""
    deterministic: bool = False  # deterministic torch algorithms; in the key only when on
    drop: tuple[str, ...] = ()
    # The column's title, family and reference flag, taken where the job is planned: a worker
    # that imports a module:Class method afresh does not see the title and family the Python
    # API gave the class in the planning process (methods.registry.external). Not in the key.
    column: tuple[str, str, bool] = field(default=("", "", False), compare=False)
    tune: int = 0  # tuning budget (benchmark.tuning); in the key only when > 0

    def config(self) -> dict:
        cls = self.method.cls
        return {
            "method": {"name": self.method.name, "variant": self.method.variant,
                       "params": self.method.params, "preset": self.preset,
                       "version": cls.version, "source": self.source,
                       **({"tune": self.tune} if self.tune else {})},
            "dataset": {"name": self.dataset, "options": self.dataset_options,
                        "fingerprint": self.data_fingerprint},
            "protocol": {"name": self.protocol, "options": self.protocol_options,
                         "split_seed": self.split_seed, "fold": self.fold, "block": self.block,
                         "indices": self.fold_hash},
            "drop": list(self.drop),
            "seed": self.seed,
            "shared_code": shared_code_hash(),
            **({"deterministic": True} if self.deterministic else {}),
        }

    @property
    def key(self) -> str:
        return hashlib.sha256(canonical_json(self.config()).encode()).hexdigest()[:20]

    @property
    def method_seed(self) -> int:
        """Per-job seed from SeedSequence(base seed, job key without the tuning budget):
        independent of job order and of how jobs are spread over workers, and the same for a
        tuned job as for its untuned twin, so a tuned job's default candidate *is* the untuned
        job and "tuned vs defaults" differs in the hyper-parameters only; and independent of the
        source hashes in the key."""
        config = self.config()
        config["method"].pop("tune", None)
        # Nor does the seed follow the code's text: a docstring edit must not redraw a job's
        # randomness (and move every stochastic result a baseline holds); the key still changes.
        config["method"].pop("source", None)
        config.pop("shared_code", None)
        untuned = hashlib.sha256(canonical_json(config).encode()).hexdigest()
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(int(untuned[:8], 16),))
        return int(ss.generate_state(1)[0])

    @property
    def label(self) -> str:
        """Column title: method display name, variant, and dropped modalities."""
        parts = [self.method.display] + [f"w/o {m.upper() if len(m) <= 4 else m.title()}" for m in self.drop]
        return " ".join(parts)
