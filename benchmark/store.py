"""The results store: one JSON record and one predictions file per job, written atomically.

Each write goes to a temporary file in the same directory and is renamed into place
(``os.replace`` is atomic on POSIX), so a run killed at any moment leaves either a complete
record or none — never half of one. Files get the permissions the user's umask gives (0644
typically), as any other file the user writes, so a lab-mate can read a shared run.

A record is trusted only if it passes :func:`benchmark.records.problem` (schema, and the
predictions file matching the checksum stored in the record); any other record — truncated,
hand-edited, its predictions deleted — is reported by path and treated as missing, so it is
re-run. A file that cannot be written (read-only directory, disk full) raises
:class:`RunDirError` naming it; records already written stay valid.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from reports.metrics import METRICS

from .errors import RunDirError
from .records import predictions_path, problem, sha256

log = logging.getLogger(__name__)
RESULT_COLUMNS = ["dataset", "protocol", "fold", "subject", "method", "variant", "seed", "status",
                  "n_train", "n_test", "fit_seconds", "predict_seconds", *METRICS,
                  *(f"{m}_trial" for m in METRICS)]


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
            os.fchmod(f.fileno(), 0o666 & ~_umask())
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


class Store:
    """Records under ``<run>/records/<key>.json``, predictions under ``<run>/predictions/``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.records = self.root / "records"
        self.invalid: list[str] = []  # record paths found invalid, in the order read
        self.problems: dict[str, str] = {}  # record path -> what is wrong with it

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def write(self, record: dict, pred: np.ndarray | None, test_idx: np.ndarray | None) -> None:
        """Write the predictions (if any), then the record carrying their checksum."""
        key = record["key"]
        if pred is not None:
            buf = _npz_bytes(pred=pred.astype(np.float32), test_index=test_idx)
            atomic_write(predictions_path(self.root, key), buf)
            record["predictions"] = {"path": f"predictions/{key}.npz", "sha256": sha256(buf)}
        atomic_write(self.record_path(key), json.dumps(record, indent=1, default=str).encode())

    def read(self, key: str) -> dict | None:
        """The record of ``key``; None when absent or invalid (an invalid one is noted)."""
        path = self.record_path(key)
        if not path.exists():
            return None
        try:
            rec = json.loads(path.read_text())
        except (ValueError, OSError) as exc:
            return self._invalid(path, f"not readable JSON ({exc})")
        why = problem(self.root, rec, key)
        return self._invalid(path, why) if why else rec

    def _invalid(self, path: Path, why: str) -> None:
        log.warning("record %s is invalid: %s; the next `run` computes its job again", path, why)
        self.invalid.append(str(path))
        self.problems[str(path)] = why
        return None

    def load_predictions(self, key: str) -> dict:
        try:
            with np.load(predictions_path(self.root, key)) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise RunDirError(f"predictions file {predictions_path(self.root, key)} cannot be read "
                              f"({type(exc).__name__}: {exc}); re-run the same `run` command to "
                              "recompute it") from exc


def _npz_bytes(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v for k, v in arrays.items() if v is not None})
    return buf.getvalue()


def records_frame(records: list[dict]) -> pd.DataFrame:
    """The tidy public table: one row per job (DESIGN.md's ``results.csv`` columns first)."""
    rows = []
    for r in records:
        cfg = r["config"]
        rows.append({
            "dataset": cfg["dataset"]["name"], "protocol": cfg["protocol"]["name"],
            "fold": cfg["protocol"]["fold"], "subject": cfg["protocol"]["block"],
            "method": cfg["method"]["name"], "variant": cfg["method"]["variant"],
            "seed": cfg["seed"], "status": r["status"], "n_train": r.get("n_train"),
            "n_test": r.get("n_test"), "fit_seconds": r.get("fit_seconds"),
            "predict_seconds": r.get("predict_seconds"),
            **{m: (r.get("metrics") or {}).get(m, np.nan) for m in METRICS},
            **{f"{m}_trial": (r.get("metrics_trial") or {}).get(m, np.nan) for m in METRICS},
            "split_seed": cfg["protocol"]["split_seed"], "block_kind": r["block_kind"],
            "n_test_trials": r.get("n_test_trials"),
            "label": r["label"], "family": r["family"], "oracle": r["oracle"],
            "drop": ",".join(cfg["drop"]),
            "block": cfg["protocol"]["block"], "preset": cfg["method"]["preset"],
            "n_parameters": r.get("n_parameters"), "tune_seconds": (r.get("tuning") or {}).get("seconds"),
            "error": r.get("error", ""), "key": r["key"],
        })
    return pd.DataFrame(rows, columns=None if rows else RESULT_COLUMNS)
