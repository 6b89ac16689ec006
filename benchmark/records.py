"""What makes a stored job record valid: its schema, and the checksum of its predictions.

A record that parses is not yet a result: a hand-edited, partly restored or older record may
lack fields that reporting needs, and its predictions file may be gone or truncated. Both the
store and the warm re-run fast path ask :func:`problem` before trusting a record, so a damaged
job is named and recomputed instead of breaking ``report`` later. Kept free of heavy imports:
the fast path uses it without importing numpy-based modules beyond the metric names.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from reports.metrics import METRICS

STATUSES = ("ok", "failed", "timeout", "invalid")
_NUMBER = (int, float)
# field path -> accepted types; checked for every record
_COMMON = {
    ("key",): str, ("status",): str, ("label",): str, ("family",): str, ("oracle",): bool,
    ("block_kind",): str, ("config", "protocol", "split_seed"): int,
    ("config",): dict, ("config", "method"): dict, ("config", "method", "name"): str,
    ("config", "method", "variant"): str, ("config", "method", "params"): dict,
    ("config", "method", "preset"): str, ("config", "dataset"): dict,
    ("config", "dataset", "name"): str, ("config", "dataset", "options"): dict,
    ("config", "protocol"): dict, ("config", "protocol", "name"): str,
    ("config", "protocol", "options"): dict, ("config", "protocol", "fold"): int,
    ("config", "protocol", "block"): str, ("config", "drop"): list, ("config", "seed"): int,
}
# ... and for finished ("ok") records
_FINISHED = {
    ("n_train",): int, ("n_test",): int, ("fit_seconds",): _NUMBER, ("predict_seconds",): _NUMBER,
    ("metrics",): dict, **{("metrics", m): _NUMBER for m in METRICS},
    ("metrics_trial",): dict, **{("metrics_trial", m): _NUMBER for m in METRICS},
    ("n_test_trials",): int,
    ("predictions",): dict, ("predictions", "sha256"): str,
}


def predictions_path(root: Path, key: str) -> Path:
    return Path(root) / "predictions" / f"{key}.npz"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_problem(rec, key: str) -> str | None:
    """What is wrong with the fields of record ``rec`` expected under ``key``, or None."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    fields = {**_COMMON, **(_FINISHED if rec.get("status") == "ok" else {})}
    for path, types in fields.items():
        value = rec
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
            got = "missing" if value is None else f"a {type(value).__name__}"
            return f"field {'.'.join(path)!r} is {got}"
    if rec["key"] != key:
        return f"field 'key' is {rec['key']!r}, expected {key!r}"
    if rec["status"] not in STATUSES:
        return f"field 'status' is {rec['status']!r}, expected one of {STATUSES}"
    return None


def problem(root: Path, rec, key: str) -> str | None:
    """Why record ``rec`` of job ``key`` in run ``root`` cannot be trusted, or None.

    A finished record is trusted only with its predictions file present and matching the
    SHA-256 stored in the record when it was written.
    """
    why = schema_problem(rec, key)
    if why or rec["status"] != "ok":
        return why
    path = predictions_path(root, key)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"predictions file {path} cannot be read ({exc.strerror or exc})"
    if sha256(data) != rec["predictions"]["sha256"]:
        return f"predictions file {path} does not match the checksum in the record (truncated or replaced)"
    return None
