"""The results store: one JSON record and one predictions file per job, written atomically.

Each write goes to a temporary file in the same directory and is renamed into place
(``os.replace`` is atomic on POSIX), so a run killed at any moment leaves either a complete
record or none — never half of one. A record that cannot be parsed or does not match its key
(for example truncated by a disk problem) is reported and treated as missing, so it is re-run.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from reports.metrics import METRICS

log = logging.getLogger(__name__)
RESULT_COLUMNS = ["dataset", "protocol", "fold", "subject", "method", "variant", "seed", "status",
                  "n_train", "n_test", "fit_seconds", "predict_seconds", *METRICS]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """Records under ``<run>/records/<key>.json``, predictions under ``<run>/predictions/``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.records = self.root / "records"
        self.predictions = self.root / "predictions"
        self.invalid: list[str] = []

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def write(self, record: dict, pred: np.ndarray | None, test_idx: np.ndarray | None) -> None:
        key = record["key"]
        if pred is not None:
            buf = _npz_bytes(pred=pred.astype(np.float32), test_index=test_idx)
            atomic_write(self.predictions / f"{key}.npz", buf)
        atomic_write(self.record_path(key), json.dumps(record, indent=1, default=str).encode())

    def read(self, key: str) -> dict | None:
        """The record of ``key``; None when absent or invalid (an invalid one is noted)."""
        path = self.record_path(key)
        if not path.exists():
            return None
        try:
            rec = json.loads(path.read_text())
            if rec.get("key") != key or "status" not in rec:
                raise ValueError("key or status missing")
            return rec
        except (ValueError, OSError) as exc:
            log.warning("record %s is invalid (%s); it will be re-run", path, exc)
            self.invalid.append(str(path))
            return None

    def load_predictions(self, key: str) -> dict:
        with np.load(self.predictions / f"{key}.npz") as z:
            return {k: z[k] for k in z.files}


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
            "label": r["label"], "family": r["family"], "drop": ",".join(cfg["drop"]),
            "block": cfg["protocol"]["block"], "preset": cfg["method"]["preset"],
            "n_parameters": r.get("n_parameters"), "error": r.get("error", ""), "key": r["key"],
        })
    return pd.DataFrame(rows, columns=None if rows else RESULT_COLUMNS)
