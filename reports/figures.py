"""Figures of a run, as PNG + PDF (matplotlib, Agg backend, no display needed).

- `plot_distributions`: ground-truth vs predicted distributions of a few test samples,
  grouped bars per emotion (the paper's Fig. 5); the ground truth is solid black with a white
  hatch, a style no method gets (`series_styles`), and every column its own colour;
- `plot_correlations`: label-correlation matrices of ground truth and predictions per
  subject (Fig. 9), with `correlation_distance` giving the number added to the tables;
- `plot_hyperparameter_curves`: metric vs hyper-parameter value (Figs. 6–8).

The plotting functions take plain arrays / frames; `job_predictions` joins a run's stored
predictions with the dataset's labels to produce them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.metrics import ARROWS, METRICS, per_sample  # noqa: E402
from .tables import METRIC_TITLES  # noqa: E402

CORRELATION_ROW = "Label-corr. distance ↓"
MIN_CORR_SAMPLES = 3
MIN_CORR_LABELS = 3  # distinct true labels a test set needs for a correlation between emotions
CORRELATION_MISSING = (f"{{row}}: not shown: no test set (a subject's test windows, pooled over its "
                       f"folds) holds {MIN_CORR_LABELS} distinct labels, too few to estimate a "
                       "correlation between emotions.")
GROUND_TRUTH = "Ground truth"
GROUND_TRUTH_STYLE = {"color": "black", "edgecolor": "white", "hatch": "///", "linewidth": 0}
# tab20 without its two greys (too close to the ground truth's black) and interleaved so that
# neighbouring columns get different hues: 18 distinct colours, then hatches on top of them.
_PALETTE = [matplotlib.colormaps["tab20"](i) for i in (*range(0, 20, 2), *range(1, 20, 2))
            if i not in (14, 15)]
_HATCHES = ("", "..", "xx", "\\\\")


def save_figure(fig, path: Path) -> list[Path]:
    """Save ``fig`` as ``path``.png and ``path``.pdf, close it, and return both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    for p in out:
        fig.savefig(p, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return out


@dataclass
class JobPrediction:
    """One finished job's test predictions next to the ground truth."""

    label: str
    block: str
    seed: int
    index: np.ndarray
    truth: np.ndarray
    pred: np.ndarray


def job_predictions(rows: pd.DataFrame, load: Callable[[str], dict]) -> list[JobPrediction]:
    """Stored predictions of the finished jobs in ``rows`` (``records_frame`` rows); ``load``
    maps a job key to its stored arrays (``RunDir.load_predictions``: ``pred``, ``test_index``
    and the test part's true labels ``truth``, so no dataset is reloaded)."""
    out = []
    for row in rows[rows["status"] == "ok"].itertuples():
        stored = load(row.key)
        out.append(JobPrediction(row.label, str(row.block), int(row.seed), np.asarray(stored["test_index"]),
                                 np.asarray(stored["truth"], dtype=float),
                                 np.asarray(stored["pred"], dtype=float)))
    return out


def pick_samples(truth: np.ndarray, pred: np.ndarray, n: int = 4) -> np.ndarray:
    """Indices of ``n`` samples at evenly spaced quantiles of KL(truth ‖ pred), best first.

    Shows a good, a typical and a bad prediction rather than hand-picked favourable ones.
    """
    kl = per_sample(truth, pred)["kl"]
    order = np.argsort(kl, kind="stable")
    pos = np.unique(np.round(np.linspace(0, len(order) - 1, min(n, len(order)))).astype(int))
    return order[pos]


def series_styles(names: list[str]) -> dict[str, dict]:
    """Bar style per column: a distinct colour each (18), then the colours again with hatches,
    so no two columns look alike; none is black, which the ground truth alone uses."""
    return {name: {"color": _PALETTE[j % len(_PALETTE)], "edgecolor": "black",
                   "hatch": _HATCHES[(j // len(_PALETTE)) % len(_HATCHES)], "linewidth": 0.3}
            for j, name in enumerate(names)}


def plot_distributions(truth: np.ndarray, preds: dict[str, np.ndarray], emotions: list[str],
                       path: Path, title: str = "", styles: dict[str, dict] | None = None) -> list[Path]:
    """Grouped bars per emotion: ground truth then each method, one panel per sample.

    ``truth`` is (n, C) for the n selected samples, ``preds`` maps a column label to (n, C);
    ``styles`` (default `series_styles` of ``preds``) keeps a method's colour the same
    across figures. The figure widens with the number of bars, and the legend sits above the
    panels so it never hides a bar.
    """
    truth = np.atleast_2d(truth)
    n, c = truth.shape
    series = {GROUND_TRUTH: truth, **{k: np.atleast_2d(v) for k, v in preds.items()}}
    styles = {GROUND_TRUTH: GROUND_TRUTH_STYLE, **(styles or series_styles(list(preds)))}
    width = 0.85 / len(series)
    fig, axes = plt.subplots(n, 1, figsize=(max(6.0, 0.09 * c * len(series) + 1.5), 2.2 * n),
                             squeeze=False, sharey=True, layout="constrained")
    x = np.arange(c)
    for i, ax in enumerate(axes[:, 0]):
        for j, (name, values) in enumerate(series.items()):
            ax.bar(x + (j - (len(series) - 1) / 2) * width, values[i], width, label=name,
                   **styles[name])
        ax.set_ylabel(f"sample {i + 1}")
        ax.set_xticks(x, emotions if i == n - 1 else [""] * c, rotation=45, ha="right")
        ax.set_xlim(-0.5, c - 0.5)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper center", fontsize=7,
               ncol=min(len(series), 6))
    axes[0, 0].set_title(title or "Ground-truth vs predicted emotion distributions", fontsize=10)
    return save_figure(fig, path)


def correlation_matrix(x: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns (emotions) of ``x`` (samples × C).

    A column constant over the samples (e.g. the training-mean prior) has no defined correlation;
    its off-diagonal entries are set to 0 ("no co-occurrence structure"), its diagonal to 1.
    """
    x = np.asarray(x, dtype=float)
    centred = x - x.mean(axis=0)
    norm = np.sqrt((centred ** 2).sum(axis=0))
    ok = norm > 1e-12 * max(1.0, float(np.abs(x).max(initial=0)))
    z = np.where(ok, centred / np.where(ok, norm, 1.0), 0.0)
    corr = z.T @ z
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def correlation_distance(truth: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> float:
    """Mean over groups (subjects) of ‖R(pred) − R(truth)‖_F, R the label-correlation matrix.

    The Frobenius norm of the difference of the two C × C correlation matrices (diagonals are both
    1, so only co-occurrences count); 0 when the predictions reproduce every pairwise correlation,
    at most 2·sqrt(C(C−1)). Groups with fewer than ``MIN_CORR_SAMPLES`` samples, or fewer than
    ``MIN_CORR_LABELS`` distinct true labels (windows of one trial share its label: one trial
    has no correlation to estimate, and a constant prediction would score a perfect 0), are
    skipped; NaN when none is left.
    """
    groups = np.asarray(groups)
    dists = [np.linalg.norm(correlation_matrix(pred[groups == g]) - correlation_matrix(truth[groups == g]))
             for g in pd.unique(groups) if (groups == g).sum() >= MIN_CORR_SAMPLES
             and len(np.unique(truth[groups == g], axis=0)) >= MIN_CORR_LABELS]
    return float(np.mean(dists)) if dists else float("nan")


def correlation_distances(jobs: list[JobPrediction]) -> dict[str, float]:
    """{column label: correlation distance}, each job's test set being one subject's samples.

    Jobs of different seeds are separate groups, so the mean is over subjects and seeds.
    """
    out = {}
    for label in dict.fromkeys(j.label for j in jobs):
        mine = [j for j in jobs if j.label == label]
        groups = np.concatenate([np.full(len(j.index), f"{j.block}|{j.seed}") for j in mine])
        out[label] = correlation_distance(np.concatenate([j.truth for j in mine]),
                                          np.concatenate([j.pred for j in mine]), groups)
    return out


def correlation_row(jobs: list[JobPrediction], digits: int = 4) -> dict[str, dict[str, str]]:
    """``Table.extra_rows`` entry: {CORRELATION_ROW: {column label: formatted distance}}; empty
    when no test set can estimate a correlation (`CORRELATION_MISSING` says why)."""
    dists = correlation_distances(jobs)
    if all(np.isnan(v) for v in dists.values()):
        return {}
    return {CORRELATION_ROW: {k: ("—" if np.isnan(v) else f"{v:.{digits}f}") for k, v in dists.items()}}


def plot_correlations(truth: np.ndarray, pred: np.ndarray, groups: np.ndarray, emotions: list[str],
                      path: Path, max_groups: int = 4, title: str = "") -> list[Path]:
    """Heat maps of R(truth) and R(pred) side by side, one row per group (first ``max_groups``)."""
    groups = np.asarray(groups)
    shown = [g for g in pd.unique(groups) if (groups == g).sum() >= MIN_CORR_SAMPLES][:max_groups]
    if not shown:
        raise ValueError(f"no group has {MIN_CORR_SAMPLES} or more samples to correlate")
    c = len(emotions)
    fig, axes = plt.subplots(len(shown), 2, figsize=(1.2 + 0.9 * c, 0.45 * c * len(shown) + 0.6),
                             squeeze=False, layout="constrained")
    for row, g in zip(axes, shown):
        mask = groups == g
        r_true, r_pred = correlation_matrix(truth[mask]), correlation_matrix(pred[mask])
        dist = np.linalg.norm(r_pred - r_true)
        panels = (("ground truth", r_true), (f"prediction (‖ΔR‖_F = {dist:.2f})", r_pred))
        for ax, (name, r) in zip(row, panels):
            im = ax.imshow(r, vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_title(f"subject {g}: {name}", fontsize=8)
            ax.set_xticks(range(c), emotions, rotation=90, fontsize=6)
            ax.set_yticks(range(c), emotions, fontsize=6)
    fig.colorbar(im, ax=axes, shrink=0.6)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_hyperparameter_curves(summary: pd.DataFrame, x: str, path: Path, hue: str | None = None,
                               metrics: tuple[str, ...] = METRICS, title: str = "") -> list[Path]:
    """Metric (mean ± std over blocks) vs the hyper-parameter ``x``, one panel per metric.

    ``summary`` is long, as returned by `reports.ranking.summarise` grouped by ``x`` (and
    ``hue``): columns ``x``, ``metric``, ``mean``, ``std`` (optional), and ``hue`` — one line
    per value of ``hue`` (e.g. protocol or dataset). Non-numeric ``x`` values (e.g. scale sets)
    are placed at even positions in their order of appearance.
    """
    numeric = pd.api.types.is_numeric_dtype(summary[x])
    categories = list(dict.fromkeys(summary[x]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3 * len(metrics), 2.8), squeeze=False)
    lines = summary.groupby(hue, sort=False) if hue else [("", summary)]
    for name, grp in lines:
        for ax, metric in zip(axes[0], metrics):
            g = grp[grp["metric"] == metric]
            if numeric:
                g = g.sort_values(x)
            pos = g[x].to_numpy() if numeric else np.array([categories.index(v) for v in g[x]])
            std = g["std"].to_numpy() if "std" in g else None
            ax.errorbar(pos, g["mean"].to_numpy(), yerr=std, marker="o", capsize=3,
                        label=str(name) if hue else None)
    for ax, metric in zip(axes[0], metrics):
        ax.set_title(f"{METRIC_TITLES[metric]} {ARROWS[metric]}", fontsize=9)
        ax.set_xlabel(x)
        if not numeric:
            ax.set_xticks(range(len(categories)), [str(v) for v in categories], rotation=45,
                          ha="right", fontsize=7)
    if hue:
        axes[0, 0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
