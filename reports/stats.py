"""Significance of the differences in a table: is each method significantly worse than the best?

The *blocks* of a run are its statistical units (`reports.ranking`: subjects, or resampled
folds; folds and seeds are first averaged inside a block, as in the tables). Which test is valid
depends on whether blocks are independent.

Subject blocks (subject-dependent, LOSO) are independent: the procedure of Demšar (2006, JMLR 7)
for comparing several methods over several data sets, the blocks playing the data sets:

1. per metric, the Friedman test (``scipy.stats.friedmanchisquare``) over the blocks on which every
   method finished; with two methods there is no omnibus step;
2. if it rejects at ``alpha`` (or with two methods), a two-sided Wilcoxon signed-rank test
   (``scipy.stats.wilcoxon``) of every other method against the best one (the best mean, as in
   the table's bold cell), the k − 1 p-values Holm-corrected (``statsmodels``' ``multipletests``);
   Holm over the k − 1 comparisons with a control is Demšar's recommendation, less conservative
   than correcting all k(k − 1)/2 pairs;
3. a method is *not significantly worse than the best* (a † in the table) when the Friedman test
   does not reject, or its corrected p-value is ≥ ``alpha``.

Fold blocks (k-fold CV, repeated or redrawn by split seeds) share most of their training data, so
their scores are correlated: the Friedman and Wilcoxon tests, which assume independent blocks,
reject far too often. Each method is compared with the best by the corrected resampled paired
t-test of Nadeau & Bengio (2003, Mach. Learn. 52): t = mean(d) / sqrt((1/J + n_test/n_train) s²_d)
over the J folds' differences d, J − 1 degrees of freedom (Bouckaert & Frank 2004 for repeated
k-fold), the k − 1 p-values Holm-corrected as above; there is no omnibus step, as no rank test
over correlated folds is valid. The correction is a heuristic (it takes the correlation between
folds to be n_test / n); Nadeau & Bengio and Bouckaert & Frank found its size close to the
nominal level, where the plain t-test and the Wilcoxon over folds reject far too often.

The best is taken among the methods that finished every block, as the table's bold column is:
a method with failed jobs is shown apart in the table and left out of the tests. Tests, diagram and table rank the same mean (``weighting``, trial-balanced by
default). Oracle references (the stimulus oracle) are left out of every test and of the
critical-difference diagram: they read what no method is given, so they are a reference, not a
competitor.

A test that cannot reach significance is not run, and the result says so in its ``note`` and
marks nothing. With n blocks the smallest two-sided exact Wilcoxon p-value is 2 / 2ⁿ, and Holm
multiplies the smallest of the k − 1 p-values by k − 1: no method can be separated from the best
unless (k − 1) · 2 / 2ⁿ < α (e.g. 8 blocks and 13 methods: 12 · 2/256 ≈ .094, whatever the
Friedman test says). The t-test needs two folds. The critical-difference diagram uses
scikit-posthocs, with the all-pairs Wilcoxon–Holm matrix (``posthoc_wilcoxon``) for the bars
joining methods that do not differ over subjects, and all-pairs corrected resampled t-tests with
Holm over folds.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.metrics import HIGHER_IS_BETTER, METRICS
from .ranking import BlockDesign, block_design, block_means, incomplete_columns, oracle_columns
from .tables import METRIC_TITLES, Table

ALPHA = 0.05
DAGGER = "†"


@dataclass
class MetricTest:
    """The outcome of the procedure for one metric.

    ``pvalues`` are the Holm-corrected p-values (Wilcoxon over subjects, corrected resampled t
    over folds, as ``design`` says) of each other method against ``best`` (empty when no test
    was run); ``not_worse`` lists the methods (never ``best`` itself) that are not significantly
    worse than the best; ``note`` says why nothing was tested, if so.
    """

    metric: str
    methods: list[str]
    n_blocks: int
    best: str | None = None
    friedman_stat: float = float("nan")
    friedman_p: float = float("nan")
    pvalues: dict[str, float] = field(default_factory=dict)
    not_worse: list[str] = field(default_factory=list)
    note: str = ""
    design: BlockDesign = field(default_factory=BlockDesign)

    @property
    def tested(self) -> bool:
        return not self.note


def block_matrix(results: pd.DataFrame, metric: str, column: str = "label",
                 weighting: str = "trial") -> pd.DataFrame:
    """Blocks × methods matrix of one metric, keeping only blocks on which every method finished.

    ``results`` is a ``records_frame`` of one table (one dataset and protocol); cells are means
    over the folds and seeds of a block of the ``weighting`` mean, as in
    `reports.ranking.block_means`. Oracle columns are dropped: they are never tested or
    ranked.
    """
    results = results[~results["label"].isin(oracle_columns(results) + incomplete_columns(results))]
    means = block_means(results, [column], weighting)
    wide = means.pivot(index="block", columns=column, values=metric)
    order = [c for c in dict.fromkeys(results[column]) if c in wide.columns]
    return wide.reindex(columns=order).dropna(axis=0, how="any")


def _min_wilcoxon_p(n_blocks: int) -> float:
    """Smallest two-sided exact Wilcoxon signed-rank p-value attainable with ``n_blocks`` pairs."""
    return 2.0 / 2.0 ** n_blocks if n_blocks else 1.0


def _wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; 1 when the two columns are identical."""
    if np.allclose(a, b, rtol=0, atol=1e-15):
        return 1.0
    return float(stats.wilcoxon(a, b).pvalue)


def corrected_t_p(a: np.ndarray, b: np.ndarray, test_train_ratio: float) -> float:
    """Two-sided p-value of Nadeau & Bengio's corrected resampled paired t-test over J folds:
    t = mean(d) / sqrt((1/J + n_test/n_train) · var(d)), J − 1 degrees of freedom. 1 when the
    columns are identical, 0 when they differ by the same amount on every fold."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if np.allclose(d, 0, rtol=0, atol=1e-15):
        return 1.0
    var = d.var(ddof=1) * (1 / len(d) + test_train_ratio)
    if var == 0:
        return 0.0
    return float(2 * stats.t.sf(abs(d.mean()) / np.sqrt(var), len(d) - 1))


def _friedman(blocks: pd.DataFrame) -> tuple[float, float]:
    """Friedman statistic and p-value; (0, 1) when every block ties all methods (scipy's
    statistic is 0/0 there)."""
    if np.ptp(blocks.to_numpy(), axis=1).max() == 0:
        return 0.0, 1.0
    res = stats.friedmanchisquare(*(blocks[m].to_numpy() for m in blocks.columns))
    return float(res.statistic), float(res.pvalue)


def _infeasible(n: int, k: int, design: BlockDesign, alpha: float) -> str:
    """Why no method can be found significantly worse than the best with ``n`` blocks and ``k``
    methods after Holm's correction; "" when that is possible."""
    if design.kind == "fold":
        return "" if n >= 2 else f"only {n} complete fold: the t-test needs two"
    smallest = (k - 1) * _min_wilcoxon_p(n)
    if smallest < alpha:
        return ""
    if k == 2:
        return (f"only {n} complete blocks: the smallest two-sided Wilcoxon p-value, "
                f"2/2^{n} = {smallest:.3g}, cannot be below α = {alpha}")
    return (f"only {n} complete blocks for {k} methods: the smallest Holm-adjusted Wilcoxon "
            f"p-value, {k - 1} × 2/2^{n} = {smallest:.3g}, cannot be below α = {alpha}, so no "
            "method can be separated from the best")


def metric_test(blocks: pd.DataFrame, metric: str, alpha: float = ALPHA,
                design: BlockDesign | None = None) -> MetricTest:
    """Run the procedure on one blocks × methods matrix (see the module docstring); ``design``
    (default: subject blocks) chooses the test."""
    design = design or BlockDesign()
    methods, n = list(blocks.columns), len(blocks)
    out = MetricTest(metric, methods, n, design=design)
    if len(methods) < 2:
        out.note = f"{len(methods)} method(s) with complete blocks: nothing to compare"
        return out
    out.note = _infeasible(n, len(methods), design, alpha)
    if out.note:
        return out
    means = blocks.mean(axis=0)
    out.best = str(means.idxmax() if HIGHER_IS_BETTER[metric] else means.idxmin())
    others = [m for m in methods if m != out.best]
    best = blocks[out.best].to_numpy()
    if design.kind == "fold":
        raw = [corrected_t_p(blocks[m].to_numpy(), best, design.test_train_ratio) for m in others]
        omnibus_rejects = True
    else:
        if len(methods) > 2:
            out.friedman_stat, out.friedman_p = _friedman(blocks)
        raw = [_wilcoxon_p(blocks[m].to_numpy(), best) for m in others]
        omnibus_rejects = len(methods) == 2 or out.friedman_p < alpha
    adjusted = multipletests(raw, alpha=alpha, method="holm")[1]
    out.pvalues = dict(zip(others, map(float, adjusted)))
    out.not_worse = [m for m in others if not omnibus_rejects or out.pvalues[m] >= alpha]
    return out


def table_tests(results: pd.DataFrame, alpha: float = ALPHA, column: str = "label",
                weighting: str = "trial") -> dict[str, MetricTest]:
    """`metric_test` for every metric of one table's ``records_frame`` rows, on the
    ``weighting`` mean (pass the table's ``weighting``) and the rows' block design."""
    design = block_design(results)
    return {m: metric_test(block_matrix(results, m, column, weighting), m, alpha, design)
            for m in METRICS}


def _procedure(tests: dict[str, MetricTest]) -> str:
    n = max((t.n_blocks for t in tests.values()), default=0)
    design = next(iter(tests.values())).design
    if design.kind == "fold":
        return (f"corrected resampled paired t-tests (Nadeau & Bengio 2003) over {n} folds against "
                "the best method, variance × (1/J + n_test/n_train) with n_test/n_train = "
                f"{design.test_train_ratio:.3g} as the folds' training sets overlap, Holm correction")
    return (f"Friedman test over {n} blocks ({design.unit}), then two-sided Wilcoxon signed-rank tests "
            "against the best method with Holm correction")


def footnote(tests: dict[str, MetricTest], alpha: float = ALPHA) -> str:
    """The sentence stating the test and α under a table (and why any metric was not tested)."""
    procedure = _procedure(tests)
    untested = {t.note: [m for m, u in tests.items() if u.note == t.note] for t in tests.values() if t.note}
    if len(untested) == 1 and all(t.note for t in tests.values()):
        return f"Significance ({procedure}, α = {alpha}) not tested: {next(iter(untested))}."
    text = f"{DAGGER}: not significantly worse than the best (bold): {procedure}, α = {alpha}."
    return " ".join([text, *(f"Not tested for {', '.join(METRIC_TITLES[m] for m in ms)}: {note}."
                             for note, ms in untested.items())])


def significance_marks(tests: dict[str, MetricTest]) -> dict[str, dict[str, str]]:
    """{metric: {column label: "†"}} for every method not significantly worse than the best."""
    return {m: {c: DAGGER for c in t.not_worse} for m, t in tests.items() if t.not_worse}


def annotate_table(table: Table, tests: dict[str, MetricTest], alpha: float = ALPHA) -> Table:
    """Attach the † marks (``table.marks``, {metric: {column: suffix}}) and the footnote.

    The table renderers append ``table.marks[metric][column]`` to a metric cell; returns
    ``table`` (modified in place) for chaining.
    """
    table.marks = significance_marks(tests)
    table.notes.append(footnote(tests, alpha))
    return table


def average_ranks(blocks: pd.DataFrame, metric: str) -> pd.Series:
    """Mean over blocks of each method's within-block rank (1 = best; ties get the mean rank)."""
    ranks = blocks.rank(axis=1, ascending=not HIGHER_IS_BETTER[metric], method="average")
    return ranks.mean(axis=0)


def pairwise_pvalues(blocks: pd.DataFrame, design: BlockDesign | None = None) -> pd.DataFrame:
    """All-pairs p-values, Holm-corrected over all pairs: Wilcoxon signed-rank over subjects
    (scikit-posthocs), the corrected resampled t over folds."""
    import scikit_posthocs as sp

    design = design or BlockDesign()
    if design.kind == "fold":
        pairs = list(itertools.combinations(blocks.columns, 2))
        raw = [corrected_t_p(blocks[a].to_numpy(), blocks[b].to_numpy(), design.test_train_ratio)
               for a, b in pairs]
        out = pd.DataFrame(1.0, index=blocks.columns, columns=blocks.columns)
        for (a, b), p in zip(pairs, multipletests(raw, method="holm")[1]):
            out.at[a, b] = out.at[b, a] = float(p)
        return out
    long = blocks.reset_index(drop=True).melt(var_name="method", value_name="value")
    long["block"] = np.tile(np.arange(len(blocks)), blocks.shape[1])
    return sp.posthoc_wilcoxon(long, val_col="value", group_col="method", p_adjust="holm",
                               sort=False).reindex(index=blocks.columns, columns=blocks.columns)


def cd_diagram(blocks: pd.DataFrame, metric: str, path: Path, alpha: float = ALPHA,
               colors: dict[str, object] | None = None,
               design: BlockDesign | None = None) -> list[Path]:
    """Critical-difference diagram (average ranks; bars join methods that do not differ).

    ``blocks`` is `block_matrix` on the table's ``weighting``; ``design`` (the table's,
    default subject blocks) chooses the pairwise test as in `pairwise_pvalues`.
    ``colors`` maps a column to its colour (default: `reports.figures.series_styles`, one
    distinct colour per method, rather than scikit-posthocs' ten-colour cycle). Writes ``path``
    with suffixes .png and .pdf and returns both paths; returns [] (draws nothing) with fewer
    than two methods or two blocks, where ranks mean nothing.
    """
    import scikit_posthocs as sp

    from .figures import plt, save_figure, series_styles

    if blocks.shape[1] < 2 or len(blocks) < 2:
        return []
    design = design or BlockDesign()
    ranks = average_ranks(blocks, metric)
    sig = pairwise_pvalues(blocks, design).fillna(1.0)
    colors = colors or {k: s["color"] for k, s in series_styles(list(blocks.columns)).items()}
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.3 * len(ranks)))
    sp.critical_difference_diagram(ranks, sig, alpha=alpha, ax=ax,
                                   color_palette={k: colors[k] for k in ranks.index})
    test = "corrected resampled t–Holm" if design.kind == "fold" else "Wilcoxon–Holm"
    unit = "folds" if design.kind == "fold" else "blocks"
    ax.set_title(f"{METRIC_TITLES[metric]}: average rank over {len(blocks)} {unit} "
                 f"({test}, α = {alpha})", fontsize=9)
    return save_figure(fig, Path(path))
