"""``run.json``: the typed manifest of a run directory.

It holds the run spec once (`benchmark.spec.RunSpec.to_dict`, which ``run --config
RUN/run.json`` reads back) and what the run learned while running: the loader options it
resolved (the preset's data size included), the dataset's emotion names and label items, the
code fingerprint, the source files of the methods it ran (so the warm re-run fast path notices an
edited plugin), the expected job keys, and the wall time of the last ``run``.

Only `benchmark.rundir.RunDir` reads and writes the file, through `Manifest`;
nothing else looks into it by key. A manifest written by an earlier version (format 1: the spec,
the request as typed and eight flat fields) is read and converted when next written.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

FORMAT = 2
# Dataset options that say where the data lies, not what it is: left out of table keys and of
# job keys (the data's content fingerprint identifies it), so the same recordings found under
# another path or through MIXED_EMOTION_DATA share records, seeds and tables.
PATH_OPTIONS = ("data_root",)


def without_paths(options: dict) -> dict:
    """``options`` without `PATH_OPTIONS`."""
    return {k: v for k, v in options.items() if k not in PATH_OPTIONS}


def request_hash(request: dict) -> str:
    """A fingerprint of the options as given (`benchmark.spec.request`): the fast path
    compares it without importing any method."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Manifest:
    """What ``run.json`` holds (module docstring)."""

    spec: dict
    jobs: tuple[str, ...]
    emotions: tuple[str, ...] = ()
    items: str | None = None  # the label construction (loader option ``items``), when it has one
    loader_options: dict = field(default_factory=dict)  # resolved: preset defaults + the spec's
    code: str = ""  # benchmark.fastpath.code_fingerprint() of the suite's packages
    request: str = ""  # request_hash of the options as given
    sources: dict = field(default_factory=dict)  # method source file -> sha256 prefix
    wall_seconds: float | None = None
    n_jobs: int | None = None

    @property
    def dataset(self) -> str:
        return self.spec["dataset"]

    @property
    def protocol(self) -> str:
        return self.spec["protocol"]

    @property
    def preset(self) -> str:
        return self.spec["preset"]

    @property
    def protocol_options(self) -> dict:
        """The protocol's options as asked, with ``normalize`` when it is not "none"."""
        options = dict(self.spec.get("protocol_options") or {})
        if self.spec.get("normalize", "none") != "none":
            options["normalize"] = self.spec["normalize"]
        return options

    def timed(self, seconds: float, n_jobs: int) -> "Manifest":
        return replace(self, wall_seconds=round(seconds, 1), n_jobs=n_jobs)

    def to_json(self) -> bytes:
        data = {"format": FORMAT, **asdict(self)}
        data["jobs"], data["emotions"] = list(self.jobs), list(self.emotions)
        return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, default=str).encode()

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        """A manifest from the parsed file; ValueError saying what is wrong. Format 1 (no
        ``format`` field) is converted."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        version = data.get("format", 1)
        if version not in (1, FORMAT):
            raise ValueError(f"format {version!r} is not one this version reads ({FORMAT}); "
                             "re-run into a new --out")
        if not isinstance(data.get("jobs"), list) or not isinstance(data.get("spec"), dict):
            raise ValueError("no 'jobs' list or 'spec' table")
        if not isinstance(data["spec"].get("dataset"), str):
            raise ValueError("the spec names no dataset")
        if version == 1:
            options = data.get("dataset_options") or {}
            return cls(spec=data["spec"], jobs=tuple(data["jobs"]),
                       emotions=tuple(data.get("emotions") or ()),
                       items=items_text(options.get("items")), loader_options=dict(options),
                       code=data.get("code") or "", request=request_hash(data.get("request") or {}),
                       wall_seconds=data.get("wall_seconds"), n_jobs=data.get("n_jobs"))
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["jobs"], kwargs["emotions"] = tuple(kwargs["jobs"]), tuple(kwargs.get("emotions") or ())
        return cls(**kwargs)


def items_text(items) -> str | None:
    """The label construction as a title states it: a named set, or the items joined by commas."""
    if items is None or isinstance(items, str):
        return items
    return ",".join(items)
