"""The metric regression gate: compare a run's table means with a committed baseline.

A baseline file is JSON: ``{"tolerance": {metric: abs tol}, "tables": {title: {column:
{metric: value}}}}``. A value worse than the baseline by more than its tolerance (in the
metric's own direction) is a regression; better by more than the tolerance is reported as an
improvement (the baseline should then be updated deliberately with ``--update``).
"""
from __future__ import annotations

import json
from pathlib import Path

from reports.metrics import HIGHER_IS_BETTER, METRICS

DEFAULT_TOLERANCE = {m: 0.002 for m in METRICS} | {"clark": 0.01, "canberra": 0.02, "kl": 0.005}


def compare(current: dict, baseline: dict) -> tuple[list[str], list[str]]:
    """(regressions, other differences) as readable lines."""
    tol = {**DEFAULT_TOLERANCE, **baseline.get("tolerance", {})}
    regressions, notes = [], []
    for title, cols in baseline["tables"].items():
        if title not in current:
            regressions.append(f"table {title!r} missing from the run")
            continue
        for col, metrics in cols.items():
            if col not in current[title]:
                regressions.append(f"{title}: column {col!r} missing (failed or not run)")
                continue
            for m, ref in metrics.items():
                val = current[title][col].get(m)
                delta = val - ref
                worse = -delta if HIGHER_IS_BETTER[m] else delta
                line = f"{title} | {col} | {m}: baseline {ref:.4f} -> now {val:.4f} (Δ {delta:+.4f}, tol {tol[m]})"
                if worse > tol[m]:
                    regressions.append("REGRESSION " + line)
                elif worse < -tol[m]:
                    notes.append("improved   " + line)
    for title, cols in current.items():
        for col in cols:
            if col not in baseline["tables"].get(title, {}):
                notes.append(f"new column (not in baseline): {title} | {col}")
    return regressions, notes


def write_baseline(current: dict, path: Path, tolerance: dict | None = None) -> None:
    payload = {"tolerance": tolerance or DEFAULT_TOLERANCE, "tables": current}
    Path(path).write_text(json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
