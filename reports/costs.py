"""The cost table, kept apart from the results table: time and size per method (column label).

Per column label, over its finished jobs: the number of jobs, fit and predict seconds as mean per
job and total, the tuning seconds (the whole search of `benchmark.tuning`, every candidate's
fit and validation scoring; "—" for untuned jobs) and the number of fitted parameters
(``n_parameters`` of the record; shown as min–max when it differs between jobs, e.g. with the
input width of a fold). A tuned job's fit seconds are its final model's fit (the winning
candidate's, also counted in the tuning seconds). Failed jobs are counted but their times are
left out, as a job killed at its time limit says nothing about cost.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from .tables import _tex

COLUMNS = {"jobs": "Jobs", "failed": "Failed", "fit_mean": "Fit s/job", "fit_total": "Fit s total",
           "predict_mean": "Predict s/job", "predict_total": "Predict s total",
           "tune_total": "Tune s total", "parameters": "Parameters"}


def cost_frame(results: pd.DataFrame, column: str = "label") -> pd.DataFrame:
    """One row per column label (in order of appearance) with the `COLUMNS` fields.

    ``results`` is a ``records_frame`` (one table's rows, or a whole run's); its
    ``tune_seconds`` column (the record's ``tuning.seconds``) may be absent: nothing was tuned.
    """
    rows = {}
    for label, grp in results.groupby(column, sort=False):
        ok = grp[grp["status"] == "ok"]
        fit, pred = ok["fit_seconds"].astype(float), ok["predict_seconds"].astype(float)
        tune = pd.to_numeric(ok.get("tune_seconds", pd.Series(dtype=float)), errors="coerce")
        rows[label] = {"jobs": len(grp), "failed": int((grp["status"] != "ok").sum()),
                       "fit_mean": fit.mean(), "fit_total": fit.sum(),
                       "predict_mean": pred.mean(), "predict_total": pred.sum(),
                       "tune_total": tune.sum(min_count=1),
                       "parameters": _parameters(ok["n_parameters"])}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))


def _parameters(values: pd.Series) -> str:
    """"12345", "min–max" when jobs differ, "—" when no job reported a count."""
    v = pd.to_numeric(values, errors="coerce").dropna().astype(np.int64)
    if v.empty:
        return "—"
    lo, hi = int(v.min()), int(v.max())
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = ["Method"] + list(COLUMNS.values())
    rows = []
    for label, r in frame.iterrows():
        rows.append([str(label), str(r["jobs"]), str(r["failed"])]
                    + [_seconds(r[c]) for c in ("fit_mean", "fit_total", "predict_mean", "predict_total",
                                                "tune_total")]
                    + [r["parameters"]])
    return header, rows


def _seconds(v: float) -> str:
    """Three significant digits without exponent (0.0000252, 0.0126, 2.00, 1234), so that a
    column reads at a glance whatever the scale."""
    if not np.isfinite(v):
        return "—"
    if v >= 100:
        return f"{v:.0f}"
    return np.format_float_positional(v, precision=3, unique=False, fractional=False,
                                      trim="k").rstrip(".")


def cost_markdown(frame: pd.DataFrame, title: str) -> str:
    """Markdown cost table with a one-line explanation under it."""
    header, rows = _cells(frame)
    table = tabulate(rows, header, tablefmt="pipe", disable_numparse=True,
                     colalign=["left"] + ["right"] * (len(header) - 1))
    return (f"### {title} — costs\n\n{table}\n\nWall-clock seconds of fit and predict per finished "
            "job (mean) and summed over jobs; tuning = the whole hyper-parameter search "
            "summed over jobs (— untuned); failed jobs excluded; parameters = fitted "
            "parameters reported by the method.\n")


def cost_latex(frame: pd.DataFrame, title: str) -> str:
    """LaTeX (booktabs) cost table."""
    header, rows = _cells(frame)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(title)} --- costs}}",
             r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule",
             " & ".join(_tex(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
