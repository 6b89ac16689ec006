"""The run directory: one class owns every file name in it, with its readers, writers and lock.

Layout of a run directory (``runs/<dataset>-<protocol>-<preset>`` unless ``--out``)::

    run.json             the run spec, the dataset's emotion names and the expected job keys
    records/<key>.json   one record per job (format: `benchmark.records`)
    predictions/<key>.npz  the job's predictions, test indices, true labels and trial ids
    results.csv          the tidy rows of the records (`benchmark.records.records_frame`)
    experiment.json      experiments only: the parts, each a sub-directory laid out like this
    table.md, table.tex  the rendered tables
    figures/, report.html  on request
    .lock                held while a command writes (`benchmark.lock`)

Nothing else in the suite builds a path inside a run directory. Writes are atomic (a temporary
file renamed into place), so a run killed at any moment leaves a complete file or none, and
files get the permissions the user's umask gives. A record is read and verified (schema,
predictions checksum) once per `RunDir` object; the command line keeps one object per
directory for a whole command, so ``run`` followed by its table reads nothing twice.

A record whose metrics were computed by other metric definitions (``metrics_version`` differs
from `benchmark.records.metrics_version`) is re-scored from its stored predictions and
labels when read, and rewritten: a metric fix needs no retraining and never leaves a stale
number behind. A record whose stored metrics do not match its predictions (edited by hand, copied
from elsewhere) is named in a warning, re-derived from the predictions and rewritten the same way
(`benchmark.records.score_mismatch`): every reader — ``benchmark.load``, ``report``,
``check``, ``pages --add``, a resumed or warm re-run — reads records here, so none uses such a
number as is.

Kept free of numpy and pandas at import: the warm re-run fast path uses the file names.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

from core.files import default_mode

from . import records as rec_format
from .errors import RunDirError
from .lock import locked
from .manifest import Manifest
from .validate import plain_name

log = logging.getLogger(__name__)

MANIFEST, RESULTS, EXPERIMENT = "run.json", "results.csv", "experiment.json"
RECORDS, PREDICTIONS, FIGURES, REPORT = "records", "predictions", "figures", "report.html"
TABLES = {"md": "table.md", "tex": "table.tex"}


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one.

    ``mkstemp`` creates its file with mode 0600; it is widened to what the umask allows, as
    for a file opened normally.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), default_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise RunDirError(f"cannot write {path}: {exc.strerror or exc}; files written before are kept "
                          "(free space or fix permissions, then re-run the same command to resume)") from exc
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


class RunDir:
    """One run directory (or one part of an experiment's)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._verified: dict[str, dict] = {}  # key -> record, read and verified by this object
        self._parts: dict[str, RunDir] = {}
        self.invalid: list[str] = []  # record paths found invalid, in the order read
        self.problems: dict[str, str] = {}  # record path -> what is wrong with it
        self.rescored: list[str] = []  # record paths re-scored under new metric definitions
        self.rederived: list[str] = []  # record paths whose stored values disagreed with their predictions

    @classmethod
    def default(cls, dataset: str, protocol: str, preset: str) -> "RunDir":
        """Where a run goes when ``--out`` is not given."""
        return cls(Path("runs") / f"{dataset}-{protocol}-{preset}")

    def __repr__(self) -> str:
        return f"RunDir({str(self.root)!r})"

    # ---------------------------------------------------------------- paths
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS

    @property
    def experiment_path(self) -> Path:
        return self.root / EXPERIMENT

    @property
    def figures_dir(self) -> Path:
        return self.root / FIGURES

    @property
    def report_path(self) -> Path:
        return self.root / REPORT

    def table_path(self, fmt: str) -> Path:
        return self.root / TABLES[fmt]

    def record_path(self, key: str) -> Path:
        return self.root / RECORDS / f"{key}.json"

    def predictions_path(self, key: str) -> Path:
        return self.root / PREDICTIONS / f"{key}.npz"

    def part(self, name: str) -> "RunDir":
        """The sub-directory run of an experiment's part (one object per part); a name that
        would leave the directory (``..``, a separator) is refused."""
        if not plain_name(name):
            raise RunDirError(f"{self.root}: experiment part {name!r} is not a plain folder name; "
                              f"{EXPERIMENT} is damaged (re-run the same `run` command to rewrite it)")
        if name not in self._parts:
            self._parts[name] = RunDir(self.root / name)
        return self._parts[name]

    def lock(self, shared: bool = False, create: bool = True):
        """Context manager holding the directory's lock (`benchmark.lock.locked`)."""
        return locked(self.root, shared=shared, create=create)

    # ---------------------------------------------------------------- manifest and experiment
    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write(self.manifest_path, manifest.to_json())

    def manifest(self) -> Manifest:
        """``run.json`` (`benchmark.manifest.Manifest`), checked; `RunDirError`
        naming the file when absent or damaged."""
        path = self.manifest_path
        if not path.exists():
            parts = self._experiment_parts()
            if parts:
                raise RunDirError(f"{self.root} is an experiment's directory (no {MANIFEST} of its own); "
                                  f"give one of its parts: {', '.join(str(self.root / p) for p in parts)}")
            raise RunDirError(f"{self.root} is not a run directory (no {MANIFEST}); give the --out of a `run`")
        return read_manifest(path)

    def note_wall_time(self, seconds: float, n_jobs: int) -> None:
        """Record in ``run.json`` how long the last ``run`` took, on how many workers."""
        if self.manifest_path.exists():
            self.write_manifest(self.manifest().timed(seconds, n_jobs))

    def write_experiment(self, manifest: dict) -> None:
        atomic_write(self.experiment_path, json.dumps(manifest, indent=1, ensure_ascii=False).encode())

    def experiment(self) -> dict | None:
        """``experiment.json`` of an experiment run directory, checked, or None for a plain run;
        `RunDirError` naming the file when it is damaged (cut off, hand-edited)."""
        path = self.experiment_path
        if not path.exists():
            return None
        try:
            exp = json.loads(path.read_text())
            parts = exp.get("parts")
            if not isinstance(parts, list) or not parts or not all(plain_name(p) for p in parts):
                raise ValueError("no 'parts' list of folder names")
            if not isinstance(exp.get("sweeps", {}), dict):
                raise ValueError("'sweeps' is not a table")
        except (OSError, ValueError, AttributeError) as exc:
            raise RunDirError(f"{path} is damaged ({exc}); re-run the same `run` command to "
                              "rewrite it") from exc
        return exp

    def _experiment_parts(self) -> list[str]:
        """The parts ``experiment.json`` lists, for a message; [] when there is none."""
        try:
            return list((self.experiment() or {}).get("parts", []))
        except RunDirError:
            return []

    # ---------------------------------------------------------------- records and predictions
    def write_record(self, record: dict, pred=None, test_index=None, truth=None, trials=None) -> None:
        """Write the job's predictions (with its test indices, true labels and trial ids, so
        reports and re-scoring never reload the dataset), then the record carrying their
        checksum."""
        key = record["key"]
        if pred is not None:
            import numpy as np

            buf = _npz_bytes(pred=pred.astype(np.float32), test_index=test_index, truth=truth,
                             trial=None if trials is None else np.asarray(trials).astype(str))
            atomic_write(self.predictions_path(key), buf)
            record["predictions"] = {"path": f"{PREDICTIONS}/{key}.npz", "sha256": rec_format.sha256(buf)}
        atomic_write(self.record_path(key), json.dumps(record, indent=1, default=str).encode())
        self._verified[key] = record

    def read_record(self, key: str) -> dict | None:
        """The record of ``key``: None when absent or invalid (an invalid one is noted and
        logged). Verified once per object; re-scored if its metric definitions are stale."""
        if key in self._verified:
            return self._verified[key]
        path = self.record_path(key)
        if str(path) in self.invalid:  # named once per object
            return None
        if not path.exists():
            return None
        try:
            rec = json.loads(path.read_text())
        except (ValueError, OSError) as exc:
            return self._invalid(path, f"not readable JSON ({exc})")
        why = rec_format.problem(rec, key, self.predictions_path(key))
        if why:
            return self._invalid(path, why)
        if rec["status"] == "ok" and rec.get("metrics_version") != rec_format.metrics_version():
            rec = self._rescore(rec)
        elif rec["status"] == "ok":
            rec = self._verify_scores(rec)
        self._verified[key] = rec
        return rec

    def _rescore(self, rec: dict) -> dict:
        stored = self.load_predictions(rec["key"])
        rec.update(rec_format.scores(stored["truth"], stored["pred"], stored["trial"]))
        atomic_write(self.record_path(rec["key"]), json.dumps(rec, indent=1, default=str).encode())
        self.rescored.append(str(self.record_path(rec["key"])))
        return rec

    def _verify_scores(self, rec: dict) -> dict:
        """``rec`` with its scores re-derived from its predictions where they differ (named in
        a warning, the record rewritten with the true values)."""
        path = self.record_path(rec["key"])
        fresh, mismatch = rec_format.score_mismatch(rec, self.load_predictions(rec["key"]))
        if mismatch:
            log.warning("record %s: stored values do not match its predictions (%s); re-derived "
                        "from the predictions and rewritten", path, mismatch)
            rec.update(fresh)
            atomic_write(path, json.dumps(rec, indent=1, default=str).encode())
            self.rederived.append(str(path))
            self.problems[str(path)] = f"stored values do not match its predictions ({mismatch})"
        return rec

    def _invalid(self, path: Path, why: str) -> None:
        log.warning("record %s is invalid: %s; the next `run` computes its job again", path, why)
        self.invalid.append(str(path))
        self.problems[str(path)] = why
        return None

    def load_predictions(self, key: str) -> dict:
        import numpy as np

        path = self.predictions_path(key)
        try:
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise RunDirError(f"predictions file {path} cannot be read ({type(exc).__name__}: {exc}); "
                              "re-run the same `run` command to recompute it") from exc

    def load(self) -> tuple[Manifest, list[dict], list[str]]:
        """The manifest, the records present, and the keys of expected jobs with no valid record."""
        manifest = self.manifest()
        records, missing = [], []
        for key in manifest.jobs:
            rec = self.read_record(key)
            (records.append(rec) if rec is not None else missing.append(key))
        absent = [k for k in missing if not self.record_path(k).exists()]
        if absent:  # invalid records were named by read_record; name the absent ones too
            log.warning("%s: %d expected record(s) absent, e.g. %s; re-run the same `run` command "
                        "to compute them", self.root, len(absent), self.record_path(absent[0]))
        return manifest, records, missing

    # ---------------------------------------------------------------- results and tables
    def write_results(self, frame) -> None:
        atomic_write(self.results_path, frame.to_csv(index=False).encode())

    def write_table(self, fmt: str, text: str) -> None:
        atomic_write(self.table_path(fmt), text.encode())


def read_manifest(path: Path) -> Manifest:
    """The manifest at ``path`` (a run's ``run.json``, or a committed copy of one);
    `RunDirError` naming the file when it cannot be read."""
    try:
        manifest = Manifest.from_dict(json.loads(Path(path).read_text()))
        if not all(plain_name(k) for k in manifest.jobs):
            raise ValueError("a job key that is not a plain file name")
        return manifest
    except (OSError, ValueError, TypeError) as exc:
        raise RunDirError(f"{path} is damaged ({exc}); re-run the same `run` command to "
                          "rewrite it") from exc


def _npz_bytes(**arrays) -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v for k, v in arrays.items() if v is not None})
    return buf.getvalue()
