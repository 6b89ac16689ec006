"""The job record format: its schema, the checksum of its predictions, its scores, and its
tidy row in ``results.csv``.

A record that parses is not yet a result: a hand-edited, partly restored or older record may
lack fields that reporting needs, and its predictions file may be gone or truncated. The run
directory and the warm re-run fast path ask `problem` before trusting a record, so a
damaged job is named and recomputed instead of breaking ``report`` later.

Fields a finished record carries beside its scores (the schema below requires those every
version wrote; the rest are optional, absent from records written before they existed):

- ``n_train``: samples the final model was fitted on. For a method that does not use the
  validation part, or that refits after choosing a setting on it, this includes the validation
  part (`benchmark.tuning.final_fit`); ``val_use`` says which: ``"merged"``,
  ``"refit"``, ``"held-out"`` (early-stopped on it, never trained on it) or ``"none"`` (the
  fold has no validation part).
- ``n_val``, ``n_val_trials``, ``n_val_subjects``: the validation part the protocol carved
  (windows, distinct subject-trial pairs, subjects), whatever the method then did with it, so a
  table note can state what was held out (``--val-size``).
- ``n_test``, ``n_test_trials``: the test part scored.

Scores are computed in one place, `scores`, which stamps them with
`metrics_version` (a hash of the metric definitions' source): a record scored by other
definitions is re-scored from its stored predictions when read (`benchmark.rundir.RunDir`).

A record's numbers are never taken on trust either: the checksum proves the predictions are the
ones written, not that the metrics beside them are theirs (a record edited by hand, or merged
from another run, keeps a valid checksum). `score_mismatch` re-derives the scores from the
predictions on every read and names any that differ; the reader then uses the re-derived ones.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from core import metrics as metric_defs
from core.metrics import METRICS

STATUSES = ("ok", "failed", "timeout", "invalid")
RESULT_COLUMNS = ["dataset", "protocol", "fold", "subject", "method", "variant", "seed", "status",
                  "n_train", "n_test", "fit_seconds", "predict_seconds", *METRICS,
                  *(f"{m}_trial" for m in METRICS)]
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
    ("metrics_version",): str, ("n_test_trials",): int,
    ("predictions",): dict, ("predictions", "sha256"): str,
}


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


def problem(rec, key: str, predictions: Path) -> str | None:
    """Why record ``rec`` of job ``key`` cannot be trusted, or None.

    A finished record is trusted only with its predictions file (at ``predictions``) present and
    matching the SHA-256 stored in the record when it was written.
    """
    why = schema_problem(rec, key)
    if why or rec["status"] != "ok":
        return why
    try:
        data = Path(predictions).read_bytes()
    except OSError as exc:
        return f"predictions file {predictions} cannot be read ({exc.strerror or exc})"
    if sha256(data) != rec["predictions"]["sha256"]:
        return f"predictions file {predictions} does not match the checksum in the record (truncated or replaced)"
    return None


@functools.cache
def metrics_version() -> str:
    """Hash of the metric definitions (the source of `core.metrics`)."""
    return hashlib.sha256(Path(metric_defs.__file__).read_bytes()).hexdigest()[:16]


def scores(truth, pred, trials) -> dict:
    """The record fields holding a job's scores: the window mean, the trial-balanced mean
    (each trial once) and the version of the definitions that computed them."""
    return {"metrics": metric_defs.evaluate(truth, pred),
            "metrics_trial": metric_defs.evaluate_balanced(truth, pred, trials),
            "metrics_version": metrics_version()}


# How far a stored score may be from the one re-derived from the stored predictions: the worker
# scores its float64 predictions, the file keeps float32, so the two agree to ~1e-7 relative.
SCORE_RTOL, SCORE_ATOL = 1e-5, 1e-7


def score_mismatch(rec: dict, stored: dict) -> tuple[dict, str | None]:
    """(the scores and test count re-derived from the stored predictions ``stored``, what in
    record ``rec`` differs from them or None). The caller replaces the record's values with the
    re-derived ones: the predictions are the evidence, the numbers beside them only a cache."""
    import math

    if "truth" not in stored or "trial" not in stored:  # written without them: nothing to re-derive
        return {}, None
    fresh = {**scores(stored["truth"], stored["pred"], stored["trial"]), "n_test": int(len(stored["pred"]))}
    diffs = [f"n_test {rec['n_test']} (predictions: {fresh['n_test']})"] if rec["n_test"] != fresh["n_test"] else []
    for field in ("metrics", "metrics_trial"):
        for m in METRICS:
            old, new = rec[field][m], fresh[field][m]
            if not math.isclose(old, new, rel_tol=SCORE_RTOL, abs_tol=SCORE_ATOL):
                diffs.append(f"{field}.{m} {old:.6g} (predictions: {new:.6g})")
    return fresh, "; ".join(diffs) or None


def records_frame(records: list[dict]):
    """The tidy public table (``results.csv``): one row per job, the columns listed in
    docs/concepts/reading.md first."""
    import numpy as np
    import pandas as pd

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
            "n_test_trials": r.get("n_test_trials"), "n_val": r.get("n_val"),
            "n_val_trials": r.get("n_val_trials"), "n_val_subjects": r.get("n_val_subjects"),
            "val_use": r.get("val_use"),
            "label": r["label"], "family": r["family"], "oracle": r["oracle"],
            "drop": ",".join(cfg["drop"]),
            "block": cfg["protocol"]["block"], "preset": cfg["method"]["preset"],
            "n_parameters": r.get("n_parameters"), "tune_seconds": (r.get("tuning") or {}).get("seconds"),
            "code": r.get("code", ""), "error": r.get("error", ""), "key": r["key"],
        })
    return pd.DataFrame(rows, columns=None if rows else RESULT_COLUMNS)
