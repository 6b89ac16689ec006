"""Competition ranking and the aggregation of per-job metrics into table cells.

Aggregation follows the paper and DESIGN.md: metrics are first averaged within a *block*
(a subject for subject-dependent and LOSO runs, a fold for k-fold CV), over folds and seeds,
then over blocks. The spread reported is over blocks (std and a t-based 95% CI); the seed
spread is reported apart (std over seeds of the block-averaged means).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .metrics import HIGHER_IS_BETTER, METRICS


def oracle_columns(results: pd.DataFrame) -> list[str]:
    """Column labels of oracle references (e.g. the stimulus oracle): shown beside the methods,
    never ranked, never tested.

    Read from the ``oracle`` column of a ``records_frame`` (each record says whether its method
    reads information no method is given); a frame without it has no oracle.
    """
    if "oracle" not in results.columns or results.empty:
        return []
    return list(dict.fromkeys(results.loc[results["oracle"].fillna(False).astype(bool), "label"]))


def prior_column(results: pd.DataFrame) -> str | None:
    """The column label of the plain training-mean prior (no variant, no dropped modality)."""
    if "method" not in results.columns:
        return None
    plain = results["method"] == "prior"
    for col in ("variant", "drop"):
        if col in results.columns:
            plain &= results[col].fillna("") == ""
    labels = results.loc[plain, "label"]
    return str(labels.iloc[0]) if len(labels) else None


def competition_rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Standard competition ranking ("1224"): ties share the best rank, the next is skipped."""
    return values.rank(method="min", ascending=not higher_is_better).astype(int)


def rank_table(means: pd.DataFrame) -> pd.DataFrame:
    """Per-metric competition ranks of ``means`` (rows metrics, columns methods).

    Adds an ``avg_rank`` row (mean of the metric ranks) and returns alongside the rank of that
    average (``avg_rank_rank``), itself competition-ranked, lower is better.
    """
    ranks = pd.DataFrame({m: competition_rank(means.loc[m], HIGHER_IS_BETTER[m])
                          for m in METRICS if m in means.index}).T
    avg = ranks.mean(axis=0)
    ranks.loc["avg_rank"] = avg
    ranks.loc["avg_rank_rank"] = competition_rank(avg.round(10), False)
    return ranks


def block_means(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Metric means per (``by`` + block), averaging folds and seeds inside a block."""
    ok = results[results["status"] == "ok"]
    return ok.groupby([*by, "block"], sort=False)[list(METRICS)].mean().reset_index()


def summarise(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, std, 95% CI half-width over blocks, and seed std, per ``by`` group and metric.

    Returns a long frame with columns ``by + [metric, mean, std, ci95, seed_std, n_blocks]``.
    """
    blocks = block_means(results, by)
    ok = results[results["status"] == "ok"]
    seed_means = ok.groupby([*by, "seed"], sort=False)[list(METRICS)].mean()
    rows = []
    for key, grp in blocks.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        seeds = seed_means.loc[key] if len(seed_means) else None
        for metric in METRICS:
            v = grp[metric].to_numpy()
            n = len(v)
            std = float(v.std(ddof=1)) if n > 1 else 0.0
            ci = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else 0.0
            seed_std = float(seeds[metric].std(ddof=1)) if seeds is not None and len(seeds) > 1 else 0.0
            rows.append({**dict(zip(by, key)), "metric": metric, "mean": float(v.mean()),
                         "std": std, "ci95": ci, "seed_std": seed_std, "n_blocks": n})
    return pd.DataFrame(rows)
