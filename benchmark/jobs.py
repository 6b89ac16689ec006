"""Jobs: one fit/predict of one method on one fold with one seed, identified by a hash.

A job's key is the SHA-256 of its canonical JSON config: method (name, variant, explicit
params, preset, code version, tuning budget when tuned), dataset (name, options, content
fingerprint), protocol (name, options, split seed, fold, and a hash of the fold's train,
validation and test indices), dropped modalities and seed. Re-running skips keys already
recorded, so a killed run resumes and adding a method runs only that method; changing any of
these (including a method's ``version`` or the way a splitter deals its folds) gives new keys,
never a stale cached result.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from datasets.base import FeatureSet
from protocols import Fold
from methods.registry import MethodSpec


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
    drop: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, hash=False)
    tune: int = 0  # tuning budget (benchmark.tuning); in the key only when > 0

    def config(self) -> dict:
        cls = self.method.cls
        return {
            "method": {"name": self.method.name, "variant": self.method.variant,
                       "params": self.method.params, "preset": self.preset,
                       "version": cls.version, **({"tune": self.tune} if self.tune else {})},
            "dataset": {"name": self.dataset, "options": self.dataset_options,
                        "fingerprint": self.data_fingerprint},
            "protocol": {"name": self.protocol, "options": self.protocol_options,
                         "split_seed": self.split_seed, "fold": self.fold, "block": self.block,
                         "indices": self.fold_hash},
            "drop": list(self.drop),
            "seed": self.seed,
        }

    @property
    def key(self) -> str:
        return hashlib.sha256(canonical_json(self.config()).encode()).hexdigest()[:20]

    @property
    def method_seed(self) -> int:
        """Per-job seed from SeedSequence(base seed, job key without the tuning budget):
        independent of job order and of how jobs are spread over workers, and the same for a
        tuned job as for its untuned twin, so a tuned job's default candidate *is* the untuned
        job and "tuned vs defaults" differs in the hyper-parameters only."""
        config = self.config()
        config["method"].pop("tune", None)
        untuned = hashlib.sha256(canonical_json(config).encode()).hexdigest()
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(int(untuned[:8], 16),))
        return int(ss.generate_state(1)[0])

    @property
    def label(self) -> str:
        """Column title: method display name, variant, and dropped modalities."""
        parts = [self.method.display] + [f"w/o {m.upper() if len(m) <= 4 else m.title()}" for m in self.drop]
        return " ".join(parts)
