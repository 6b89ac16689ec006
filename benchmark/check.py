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


def load_baseline(path: Path) -> dict:
    """The baseline at ``path``, checked: ``tables`` of {column: {metric: number}} with known
    metric names, and an optional ``tolerance`` {metric: number}. Raises BaselineError naming
    the file and the offending entry."""
    from .errors import BaselineError

    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except OSError as exc:
        raise BaselineError(f"--baseline {path}: cannot read ({exc.strerror or exc}); create one with "
                            "`check RUN_DIR --baseline FILE --update`") from exc
    except ValueError as exc:
        raise BaselineError(f"--baseline {path}: not valid JSON ({exc})") from exc

    def bad(where: str, what: str) -> BaselineError:
        return BaselineError(f"--baseline {path}: {where} {what}; expected "
                             '{"tables": {title: {column: {metric: value}}}, "tolerance": {metric: value}} '
                             f"with metrics among {', '.join(METRICS)}")

    if not isinstance(payload, dict) or not isinstance(payload.get("tables"), dict):
        raise bad("top level", "has no 'tables' object")
    sections = [("tolerance", payload.get("tolerance", {}))]
    for title, cols in payload["tables"].items():
        if not isinstance(cols, dict):
            raise bad(f"table {title!r}", "is not an object")
        sections += [(f"table {title!r} column {col!r}", metrics) for col, metrics in cols.items()]
    for where, metrics in sections:
        if not isinstance(metrics, dict):
            raise bad(where, "is not an object")
        for m, value in metrics.items():
            if m not in METRICS:
                raise bad(where, f"has unknown metric {m!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad(where, f"metric {m!r} is {value!r}, not a number")
    return payload


def write_baseline(current: dict, path: Path, tolerance: dict | None = None) -> None:
    payload = {"tolerance": tolerance or DEFAULT_TOLERANCE, "tables": current}
    Path(path).write_text(json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
