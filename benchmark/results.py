"""The one reader of a finished run: its parts, its records, and their grouping into tables.

Reporting (``report``, the table ``run`` prints), the regression gate (``check``), the results
pages (``pages``) and ``benchmark.load`` all read a run through `open_run`. It walks a
plain run or an experiment's parts once, refuses an incomplete run (`IncompleteRunError`)
or records made by different code (`MixedCodeError`) once, and groups the records into
tables by a typed `TableKey`: dataset and its options (without paths: the key says what
the data is, not where it lies), protocol and its options, feature normalisation, preset and
tuning budget. The key carries the table's title and what the stimulus oracle means under its
protocol; both come from the key's fields and the protocol's own description
(`protocols.Protocol`), never from parsing text.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from protocols import get_protocol, resolve_options

from .errors import RunDirError
from .manifest import Manifest, items_text, without_paths
from .records import records_frame
from .rundir import RunDir


class IncompleteRunError(RunDirError):
    """Some expected jobs of the run have no valid record."""


class MixedCodeError(RunDirError):
    """The records of a run were made by different versions of the suite's code."""


def canonical(obj) -> str:
    """A stable text of a JSON-able key (sorted keys), used to match keys."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def options_text(options: dict) -> str:
    return "{" + ",".join(f"{k}={canonical(v) if isinstance(v, (dict, list)) else v}"
                          for k, v in sorted(options.items())) + "}" if options else ""


NORMALISATION = {"none": "no normalisation", "subject": "per-subject normalisation"}


@dataclass(frozen=True)
class TableKey:
    """What makes a table: every record of one table shares these fields."""

    dataset: str
    dataset_options: dict
    protocol: str
    protocol_options: dict  # the splitter's, resolved (``normalize`` is its own field)
    normalize: str = "none"
    preset: str = ""
    tune: int = 0  # the largest tuning budget of the table's methods (0: defaults)

    @classmethod
    def of_config(cls, cfg: dict, tune: int = 0) -> "TableKey":
        """The key of a record's ``config``."""
        options = dict(cfg["protocol"].get("options") or {})
        normalize = options.pop("normalize", None) or "none"
        return cls(cfg["dataset"]["name"], without_paths(dict(cfg["dataset"].get("options") or {})),
                   cfg["protocol"]["name"], options, normalize, cfg["method"].get("preset"), tune)

    @classmethod
    def of_records(cls, records: list[dict]) -> "TableKey":
        """The key of one table's records: the first record's fields, with the table's tuning
        budget (reference columns have nothing to tune)."""
        tune = max((int(r["config"]["method"].get("tune") or 0) for r in records
                    if r.get("family") != "reference"), default=0)
        return cls.of_config(records[0]["config"], tune)

    @classmethod
    def from_dict(cls, d: dict) -> "TableKey":
        """The inverse of `to_dict` (a baseline's or a committed result's stored key)."""
        return cls(d["dataset"]["name"], without_paths(dict(d["dataset"].get("options") or {})),
                   d["protocol"]["name"], dict(d["protocol"].get("options") or {}),
                   d.get("normalize") or "none", d.get("preset"), int(d.get("tune") or 0))

    def to_dict(self) -> dict:
        return {"dataset": {"name": self.dataset, "options": dict(self.dataset_options)},
                "protocol": {"name": self.protocol, "options": dict(self.protocol_options)},
                "normalize": self.normalize, "preset": self.preset, "tune": self.tune}

    def untuned(self) -> str:
        """canonical text of the key without its tuning budget: the grouping of records."""
        d = self.to_dict()
        d.pop("tune")
        return canonical(d)

    def text(self) -> str:
        """The key in brief: ``dataset{opts} / protocol{opts} / normalize / preset / tune``."""
        return " / ".join([self.dataset + options_text(self.dataset_options),
                           self.protocol + options_text(self.protocol_options),
                           f"normalize={self.normalize}", f"preset={self.preset}", f"tune={self.tune}"])

    def _resolved(self) -> dict:
        try:
            return resolve_options(self.protocol, self.protocol_options)
        except KeyError:  # a protocol no longer registered: its records still render
            return dict(self.protocol_options)

    @property
    def oracle(self) -> str | None:
        """What the stimulus oracle means under this key's protocol (the protocol says)."""
        try:
            return get_protocol(self.protocol).oracle(self._resolved())
        except KeyError:
            return None

    @property
    def reference(self) -> str | None:
        """The reference "gap closed" is measured against: the first the protocol names."""
        try:
            names = get_protocol(self.protocol).references(self._resolved())
        except KeyError:
            return None
        return names[0] if names else None

    @property
    def repeats(self) -> int:
        return int(self._resolved().get("repeats") or 1)

    def protocol_phrase(self) -> str:
        """The protocol and its split design in words, e.g. ``subject-dependent (trials held
        out: 1 of 5 folds per subject)``, in the protocol's own words (its ``describe``) plus the
        options every splitter shares."""
        options = self._resolved()
        val = options.pop("val_size", None)
        repeats = options.pop("repeats", 1)
        try:
            design = get_protocol(self.protocol).describe(options)
        except KeyError:
            design = ""
        extra = [design] if design else [f"{k}={v}" for k, v in sorted(options.items())]
        extra += [f"× {repeats} repeats"] if repeats and repeats > 1 else []
        extra += [f"val_size={val}"] if val is not None and val != 0.1 else []
        return self.protocol + (f" ({', '.join(extra)})" if extra else "")

    def title(self, records: list[dict], items: str | None = None) -> str:
        """``dataset [items=...] — protocol (design) — normalisation — preset — defaults/tuning``;
        ``items`` is the label construction the run recorded (`benchmark.manifest.Manifest`)."""
        items = items_text(self.dataset_options.get("items", items))
        return " — ".join([
            self.dataset + (f" [items={items}]" if items else ""), self.protocol_phrase(),
            NORMALISATION.get(self.normalize, f"normalize={self.normalize}"),
            f"{self.preset} preset", _tuning_phrase(records),
        ])


def _tuning_phrase(records: list[dict]) -> str:
    """"defaults", "tuned, budget N per method", or — when only some methods were tuned (the
    ``paper`` preset tunes where the method's paper did) — which ones. Reference columns
    (prior, oracle) have nothing to tune and are left out."""
    budgets = {r.get("label"): r["config"]["method"].get("tune") or 0
               for r in records if r.get("family") != "reference"}
    budget = max(budgets.values(), default=0)
    if not budget:
        return "defaults"
    if all(budgets.values()):
        return f"tuned, budget {budget} per method"
    tuned = ", ".join(sorted(label for label, tune in budgets.items() if tune))
    return f"tuned, budget {budget} per method: {tuned}; defaults for the rest"


def table_title(records: list[dict], items: str | None = None) -> str:
    """The title of the table of ``records`` (one table key)."""
    return TableKey.of_records(records).title(records, items)


@dataclass
class TableRecords:
    """The records of one table, with their key, title and tidy rows."""

    key: TableKey
    title: str
    records: list[dict]
    frame: pd.DataFrame
    rundir: RunDir | None = None

    def table(self, frame: pd.DataFrame | None = None):
        """The plain ranked table (`reports.tables.build_table`) of these rows, or of
        ``frame`` (the same rows relabelled, as the regression gate does)."""
        from reports.tables import build_table

        return build_table(self.frame if frame is None else frame, self.title, oracle=self.key.oracle,
                           reference=self.key.reference, repeats=self.key.repeats)


def group(records: list[dict], items: str | None = None, rundir: RunDir | None = None) -> list[TableRecords]:
    """The records grouped into tables by `TableKey`, in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(TableKey.of_config(r["config"]).untuned(), []).append(r)
    out = []
    for recs in groups.values():
        key = TableKey.of_records(recs)
        out.append(TableRecords(key, key.title(recs, items), recs, records_frame(recs), rundir))
    return out


def group_rows(frame: pd.DataFrame, keys: list[tuple[TableKey, str]]) -> list[tuple[pd.DataFrame, TableKey, str]]:
    """The rows of a committed ``results.csv`` (which has no option columns) under the table
    keys and titles stored beside it: a plain run is one table, so the rows of each key are
    those of its dataset and protocol. Text columns left empty in the file (a method without a
    variant) are read as empty text, not as missing values."""
    frame = frame.copy()
    for col in ("variant", "drop", "error", "code"):
        if col in frame.columns:
            frame[col] = frame[col].fillna("").astype(str)
    out = []
    for key, title in keys:
        rows = frame[(frame["dataset"] == key.dataset) & (frame["protocol"] == key.protocol)]
        out.append((rows.reset_index(drop=True), key, title))
    return out


def rows_table(frame: pd.DataFrame, key: TableKey, title: str):
    """The annotated Markdown-ready table of committed rows (``results.csv`` of a committed run,
    with its stored key and title): ranked, with significance marks."""
    from reports import stats
    from reports.tables import build_table

    table = build_table(frame, title, oracle=key.oracle, reference=key.reference,
                        repeats=key.repeats)
    stats.annotate_table(table, stats.table_tests(table.rows, weighting=table.weighting))
    return table


# ----------------------------------------------------------------------------- runs and parts
def _code_versions(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r.get("code") or "unknown", []).append(r)
    return out


def mixed_code(rundir: RunDir, records: list[dict], allow: bool) -> str | None:
    """None when every record was made by the same code; else the note for the table (with
    ``allow``) or `MixedCodeError` naming the versions and an example record of each."""
    versions = _code_versions(records)
    if len(versions) < 2:
        return None
    parts = [f"{code} ({len(recs)} records, git {recs[0].get('provenance', {}).get('git_commit') or '?'}"
             f"; e.g. {rundir.record_path(recs[0]['key'])})" for code, recs in versions.items()]
    if not allow:
        raise MixedCodeError(f"{rundir.root}: its records were made by {len(versions)} versions of the "
                             f"suite's code: {'; '.join(parts)}. Re-run into a new --out to compute "
                             "every job with the current code, or pass --allow-mixed-code")
    return (f"Records made by {len(versions)} versions of the suite's code (fingerprints "
            f"{', '.join(versions)}); jobs whose results that code shapes were recomputed, the "
            "others reused (`report` refuses such a run unless --allow-mixed-code).")


@dataclass
class Part:
    """One plain run: an experiment's part, or the run itself."""

    name: str
    rundir: RunDir
    manifest: Manifest
    records: list[dict]
    missing: list[str]
    mixed: str | None = None  # the mixed-code note, when allowed
    _tables: list[TableRecords] | None = field(default=None, repr=False)

    @property
    def tables(self) -> list[TableRecords]:
        if self._tables is None:
            self._tables = group(self.records, self.manifest.items, self.rundir)
        return self._tables

    @property
    def frame(self) -> pd.DataFrame:
        return records_frame(self.records)


@dataclass
class FinishedRun:
    """A run directory read once: its parts (one for a plain run) and, for an experiment, what
    ``experiment.json`` declares (sweeps)."""

    rundir: RunDir
    parts: list[Part]
    experiment: dict | None = None

    @property
    def tables(self) -> list[TableRecords]:
        return [t for p in self.parts for t in p.tables]

    @property
    def records(self) -> list[dict]:
        return [r for p in self.parts for r in p.records]


def read_part(rundir: RunDir, name: str = "", allow_incomplete: bool = False,
              allow_mixed_code: bool = False) -> Part:
    """One plain run directory, checked for completeness and code versions."""
    manifest, records, missing = rundir.load()
    if missing and not allow_incomplete:
        raise IncompleteRunError(
            f"{rundir.root}: {len(missing)} of {len(manifest.jobs)} jobs have no valid record; "
            "resume with the same `run` command, or pass --allow-incomplete")
    mixed = mixed_code(rundir, records, allow_mixed_code)
    return Part(name, rundir, manifest, records, missing, mixed)


def open_run(out: RunDir | Path | str, allow_incomplete: bool = False,
             allow_mixed_code: bool = False) -> FinishedRun:
    """Read the run (or every part of the experiment) in ``out`` once (module docstring)."""
    rundir = out if isinstance(out, RunDir) else RunDir(out)
    experiment = rundir.experiment()
    names = list(experiment["parts"]) if experiment else [""]
    parts = [read_part(rundir.part(n) if n else rundir, n, allow_incomplete, allow_mixed_code)
             for n in names]
    return FinishedRun(rundir, parts, experiment)
