"""Competition ranking and the aggregation of per-job metrics into table cells.

Which mean. A job's record carries two means of each metric: the window mean (every test window
weighs the same) and the trial-balanced mean (``<metric>_trial``: each trial's windows averaged,
then the trials). Labels exist per trial, and trials differ in length (a long baseline condition
would otherwise outweigh a short stimulus), so the trial-balanced mean is the default
(``weighting="trial"``); a frame without the ``*_trial`` columns falls back to the window mean.

Blocks. Metrics are first averaged within a *block*, over its folds and seeds, then over blocks.
``block_kind`` says what a block is: a subject ("subject": subject-dependent and LOSO runs) or a
resampled fold ("fold": k-fold CV). Folds drawn by different split seeds are different
resamples, so a fold block is (split seed, fold). A frame without ``block_kind`` has subject
blocks, as before the column existed.

Interval. Subject blocks are independent: a t-interval with variance σ²/J over J blocks. Fold
blocks share (k − 2)/(k − 1) of their training data, so their scores are positively correlated
and σ²/J is too small; the interval uses Nadeau & Bengio's (2003) corrected resampled variance
σ²(1/J + n_test/n_train), with J − 1 degrees of freedom (for r repeats of k folds J = r·k,
Bouckaert & Frank 2004).

Seeds. A seed may redraw the partition (``split_seed``), the model initialisation (``seed``), or
both at once (``split_seed == seed`` on every row). The spread separates them where the frame
allows it: the std over split seeds (of the split seeds' means) and the std over model seeds with
the partition fixed (pooled over split seeds); when each seed redraws both, only their joint
spread (``seed_std``) can be measured, and `seed_design` says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.metrics import HIGHER_IS_BETTER, METRICS

WEIGHTINGS = ("trial", "window")
TRIAL_COLUMNS = {f"{m}_trial": m for m in METRICS}
SUMMARY_COLUMNS = ["metric", "mean", "std", "ci95", "within_std", "seed_std", "n_blocks", "split_seed_std",
                   "model_seed_std", "n_seeds", "n_split_seeds"]


def oracle_columns(results: pd.DataFrame) -> list[str]:
    """Column labels of oracle references (e.g. the stimulus oracle): shown beside the methods,
    never ranked, never tested.

    Read from the ``oracle`` column of a ``records_frame`` (each record says whether its method
    reads information no method is given); a frame without it has no oracle.
    """
    if "oracle" not in results.columns or results.empty:
        return []
    return list(dict.fromkeys(results.loc[results["oracle"].fillna(False).astype(bool), "label"]))


def incomplete_columns(results: pd.DataFrame) -> list[str]:
    """Column labels with a job that did not finish (and at least one that did): shown apart,
    with the mean over their finished blocks, but neither ranked nor tested, so that ranks, bold
    and † compare methods over the same complete blocks."""
    if results.empty:
        return []
    failed = results.groupby("label", sort=False)["status"].agg(lambda s: bool((s != "ok").any() and (s == "ok").any()))
    return [c for c, bad in failed.items() if bad]


def single_block_folds(results: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of a one-subject table re-blocked by fold, when the subject has several folds:
    its folds then are the blocks, with the overlapping-training-set correction of fold blocks
    (Nadeau & Bengio). None when the design has several blocks, or one block and one fold."""
    if "block_kind" not in results.columns or set(results["block_kind"].dropna()) != {"subject"}:
        return None
    ok = results[results["status"] == "ok"]
    if ok["block"].nunique() != 1 or ok["fold"].nunique() < 2:
        return None
    return results.assign(block="fold " + results["fold"].astype(str), block_kind="fold")


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


def effective_weighting(results: pd.DataFrame, weighting: str = "trial") -> str:
    """The mean actually used for ``weighting``: "trial" only when every finished job has its
    trial-balanced means, else "window" (never a mix of the two)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if weighting == "window" or not set(TRIAL_COLUMNS) <= set(results.columns):
        return "window"
    ok = results[results["status"] == "ok"]
    return "trial" if ok[list(TRIAL_COLUMNS)].notna().all(axis=None) else "window"


def scored(results: pd.DataFrame, weighting: str = "trial") -> pd.DataFrame:
    """The finished jobs, their metric columns holding the mean chosen by ``weighting``."""
    ok = results[results["status"] == "ok"]
    if effective_weighting(results, weighting) == "window":
        return ok
    return ok.drop(columns=list(METRICS)).rename(columns=TRIAL_COLUMNS)


@dataclass(frozen=True)
class BlockDesign:
    """What a block is, and what that does to the variance of a mean over blocks.

    ``kind`` is "subject", "fold", or "unknown" (a frame without ``block_kind``, treated as
    subjects, as before the column existed). ``test_train_ratio`` is the mean n_test / n_train
    of the jobs; it only matters for folds. The record's n_train leaves out the inner validation
    part, so the ratio, hence the correction, errs on the conservative side.
    """

    kind: str = "subject"
    test_train_ratio: float = 0.0

    @property
    def unit(self) -> str:
        """What the blocks are, in words."""
        return {"subject": "subjects", "fold": "folds"}.get(self.kind, "subjects; folds for k-fold CV")

    def variance_factor(self, n_blocks: int) -> float:
        """Variance of the mean over ``n_blocks`` blocks, in units of the block variance: 1/J for
        independent subjects, 1/J + n_test/n_train for overlapping folds (Nadeau & Bengio)."""
        return 1.0 / n_blocks + (self.test_train_ratio if self.kind == "fold" else 0.0)


def block_design(results: pd.DataFrame) -> BlockDesign:
    """The `BlockDesign` of one table's rows."""
    kinds = set(results["block_kind"].dropna()) if "block_kind" in results.columns else set()
    if not kinds:  # records written before the column existed
        return BlockDesign("unknown")
    if len(kinds) > 1 or not kinds <= {"subject", "fold"}:
        raise ValueError(f"one table needs one block kind, 'subject' or 'fold'; got {sorted(kinds)}")
    if kinds == {"subject"}:
        return BlockDesign()
    ok = results[results["status"] == "ok"]
    ratio = (ok["n_test"].astype(float) / ok["n_train"].astype(float)).mean()
    return BlockDesign("fold", float(ratio))


def _with_blocks(ok: pd.DataFrame, design: BlockDesign) -> pd.DataFrame:
    """``ok`` with ``block`` naming the statistical unit: (split seed, fold) for fold blocks drawn
    by several split seeds, else the record's block."""
    if design.kind != "fold" or "split_seed" not in ok.columns or ok["split_seed"].nunique() < 2:
        return ok
    return ok.assign(block="split " + ok["split_seed"].astype(str) + " " + ok["block"].astype(str))


def block_means(results: pd.DataFrame, by: list[str], weighting: str = "trial") -> pd.DataFrame:
    """Metric means per (``by`` + block), averaging folds and seeds inside a block."""
    ok = _with_blocks(scored(results, weighting), block_design(results))
    return ok.groupby([*by, "block"], sort=False)[list(METRICS)].mean().reset_index()


def seed_design(results: pd.DataFrame) -> str:
    """How the frame's seeds vary: "unknown" (no ``split_seed`` column), "single" (one seed and
    one partition), "joint" (several seeds, each drawing its own partition and model together,
    e.g. ``split_seed == seed``: their spread mixes the two) or "separate" (some partition is
    fitted with several model seeds, or some model seed on several partitions)."""
    if "split_seed" not in results.columns:
        return "unknown"
    ok = results[results["status"] == "ok"]  # a failed job may lack its split seed
    pairs = ok[["split_seed", "seed"]].drop_duplicates()
    if len(pairs) < 2:
        return "single"
    return "joint" if pairs["split_seed"].is_unique and pairs["seed"].is_unique else "separate"


def _std(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _seed_spreads(ok: pd.DataFrame, by: list[str], separate: bool) -> pd.DataFrame:
    """Per ``by`` group and metric: ``seed_std`` (std over the ``seed`` column's means), and when
    ``separate``, ``split_seed_std`` (std over split seeds of their means) and ``model_seed_std``
    (root mean over split seeds of the variance over their model seeds); NaN where a source has a
    single value."""
    rows = []
    for key, grp in ok.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        seeds = grp.groupby("seed")[list(METRICS)].mean()
        for metric in METRICS:
            row = {**dict(zip(by, key)), "metric": metric, "seed_std": _std(seeds[metric]),
                   "split_seed_std": np.nan, "model_seed_std": np.nan,
                   "n_seeds": len(seeds), "n_split_seeds": np.nan}
            if separate:
                cells = grp.groupby(["split_seed", "seed"])[metric].mean()
                splits = cells.groupby(level="split_seed")
                within = splits.var(ddof=1).dropna()
                row.update(n_split_seeds=splits.ngroups,
                           split_seed_std=_std(splits.mean()) if splits.ngroups > 1 else np.nan,
                           model_seed_std=float(np.sqrt(within.mean())) if len(within) else np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def _within_spreads(ok: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group and metric: ``within_std``, the spread of a score inside a block over
    its folds (each fold tests other trials of the same subject): the root mean, over the blocks
    (and partitions) with two or more folds, of the variance over their folds. NaN where no
    block has two folds (one fold per subject; LOSO; k-fold, whose blocks are folds)."""
    if "fold" not in ok.columns:
        return pd.DataFrame(columns=[*by, "metric", "within_std"])
    part = [c for c in ("split_seed",) if c in ok.columns]
    folds = ok.groupby([*by, "block", *part, "fold"], sort=False)[list(METRICS)].mean()
    var = folds.groupby(level=list(range(len(by) + 1 + len(part))), sort=False).var(ddof=1)
    rows = []
    levels = list(range(len(by)))
    for key, grp in var.groupby(level=levels[0] if len(levels) == 1 else levels, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for metric in METRICS:
            v = grp[metric].dropna()
            rows.append({**dict(zip(by, key)), "metric": metric,
                         "within_std": float(np.sqrt(v.mean())) if len(v) else np.nan})
    return pd.DataFrame(rows, columns=[*by, "metric", "within_std"])


def summarise(results: pd.DataFrame, by: list[str], weighting: str = "trial") -> pd.DataFrame:
    """Mean and spread per ``by`` group and metric.

    Returns a long frame with columns ``by +`` `SUMMARY_COLUMNS`: ``std`` over blocks,
    ``ci95`` the half-width of the 95% t-interval of the mean (corrected for overlapping folds,
    see the module docstring), the seed spreads as in `_seed_spreads` (the split and model
    ones NaN unless `seed_design` is "separate").
    """
    design = block_design(results)
    blocks = block_means(results, by, weighting)
    if blocks.empty:
        return pd.DataFrame(columns=[*by, *SUMMARY_COLUMNS])
    ok = scored(results, weighting)
    spreads = _seed_spreads(ok, by, seed_design(results) == "separate").merge(
        _within_spreads(ok, by), on=[*by, "metric"], how="left")
    rows = []
    for key, grp in blocks.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for metric in METRICS:
            v = grp[metric].to_numpy()
            n, std = len(v), _std(grp[metric])
            t = stats.t.ppf(0.975, n - 1) if n > 1 else 0.0
            ci = float(t * std * np.sqrt(design.variance_factor(n)))
            rows.append({**dict(zip(by, key)), "metric": metric, "mean": float(v.mean()),
                         "std": std, "ci95": ci, "n_blocks": n})
    return pd.DataFrame(rows).merge(spreads, on=[*by, "metric"])[[*by, *SUMMARY_COLUMNS]]


def effective_sizes(results: pd.DataFrame, repeats: int = 1) -> dict[str, int]:
    """The effective sample behind a table: ``labels`` (distinct test trials, each one label)
    and ``windows`` (distinct test windows), each present only when the frame has
    ``n_test_trials`` / ``n_test`` for every job counted.

    Counted on the column with the most finished jobs: per block, the sum over the folds of one
    partition (folds test disjoint parts), the largest over partitions (a trial re-tested under
    another seed is the same label), summed over blocks, divided by ``repeats`` (the folds dealt
    ``repeats`` times test every trial that many times: the same labels again).
    """
    ok = results[results["status"] == "ok"]
    if ok.empty:
        return {}
    rows = ok[ok["label"] == ok["label"].value_counts().idxmax()]
    partitions = [c for c in ("seed", "split_seed") if c in rows.columns]
    out = {}
    for name, col in (("labels", "n_test_trials"), ("windows", "n_test")):
        if col in rows.columns and rows[col].notna().all():
            per_partition = rows.groupby(["block", *partitions])[col].sum()
            out[name] = int(round(per_partition.groupby(level="block").max().sum() / max(repeats, 1)))
    return out
