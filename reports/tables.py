"""Ranked tables in the paper's layout: methods as columns grouped by family, the six metrics
and Average Rank as rows, per-metric rank in parentheses, best in bold; Markdown and LaTeX
(booktabs) rendered from one `Table`.

A table ranks one mean of each job, the trial-balanced one by default (see
`reports.ranking`), and says which in a note together with the effective sample: the number
of test labels (trials) beside the number of test windows, since windows of one trial share
one label and are not independent evidence.

Oracle references (the stimulus oracle) are shown with their means but no rank, are never bold
and never enter the average rank. They are a reference, not a ceiling: what the oracle means
depends on the protocol (`ORACLE_MEANINGS`); it is an exact upper bound only on the window
split, and under LOSO a method may beat it. With the prior they define the "Gap closed" rows:
(prior − method) / (prior − oracle) per metric, negative when the method is worse than the prior.
That ratio has a small, noisy denominator, so each value carries a percentile bootstrap interval
over blocks, and the row is left out when the oracle is not significantly better than the prior
(the bootstrap interval of prior − oracle includes 0). Over overlapping k-fold folds the bootstrap
treats folds as independent and its interval is too narrow; k-fold data sets rarely have a
stimulus, hence rarely an oracle.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import itertools

import numpy as np
import pandas as pd

from core.metrics import ARROWS, HIGHER_IS_BETTER, METRICS
from .ranking import (BlockDesign, block_design, block_means, effective_sizes, effective_weighting,
                      incomplete_columns, oracle_columns, prior_column, rank_table, seed_design,
                      single_block_folds, summarise)

METRIC_TITLES = {"chebyshev": "Chebyshev", "clark": "Clark", "canberra": "Canberra",
                 "kl": "KL", "cosine": "Cosine", "intersection": "Intersection"}
GAP_METRICS = ("kl", "chebyshev")
N_BOOT, BOOT_SEED = 2000, 0  # bootstrap of the gap-closed rows: resamples of blocks, fixed seed
ORACLE_NOTE = ("‡ marks a reference, not a method: it reads the stimulus identity (clip; WESAD: "
               "condition), which no method is given. Shown beside the prior, never ranked, never "
               "in the significance tests.")
# One line per reference method (by registry name): what it predicts.
REFERENCE_NOTES = {
    "oracle": "Oracle (stimulus): per test window, the mean label of the fold's training windows "
              "with the same stimulus (an unseen stimulus gets the training mean).",
    "consensus": "Consensus (stimulus): per test trial, the mean label the other subjects gave "
                 "the same stimulus, each of their trials once.",
}
ORACLE_MEANINGS = {
    "window": "Window split: the oracle is exact, since every window of a trial carries the "
              "trial's label and the trial has windows in training: a ceiling.",
    "trial": "Subject-dependent, trials held out: the held-out trial's stimulus is unseen in the "
             "subject's training data, so the oracle falls back to the prior (it is not run); "
             "the consensus of the other subjects is the reference.",
    "loso": "LOSO: the other subjects' mean label for the same stimulus: a reference, not an "
            "upper bound (a method may beat it).",
}
SEED_MEANINGS = {
    "loso": "Under LOSO the partition is fixed by the design: a seed redraws only which "
            "training subjects form the validation part, and the model's initialisation.",
}
WEIGHTING_NOTES = {
    "trial": "Ranked on the trial-balanced mean (each test trial's windows averaged, then the trials).",
    "window": "Ranked on the window mean (every test window weighs the same, so longer trials "
              "weigh more).",
}


@dataclass
class Table:
    """One table: ``means`` and ``ranks`` have metrics as rows and column labels as columns.

    ``weighting`` is the mean ranked ("trial" or "window", after any fallback) and ``design``
    the block design; the significance tests and CD diagram of the table take the same.
    """

    title: str
    columns: list[str]
    families: dict[str, str]
    means: pd.DataFrame
    ranks: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    extra_rows: dict[str, dict[str, str]] = field(default_factory=dict)
    marks: dict[str, dict[str, str]] = field(default_factory=dict)  # metric -> column -> suffix (†)
    unranked: list[str] = field(default_factory=list)  # oracle columns: values shown, no rank
    weighting: str = "window"
    design: BlockDesign = field(default_factory=BlockDesign)
    seeds: str = "unknown"  # `reports.ranking.seed_design`
    rows: pd.DataFrame | None = None  # the rows as the table uses them (blocks as it counts them)
    incomplete: dict[str, str] = field(default_factory=dict)  # column -> "k of n blocks"
    n_blocks: int = 0

    @property
    def ranked(self) -> bool:
        """Whether ranks, bold and † are shown: not with a single block, where nothing
        separates one method from another."""
        return self.n_blocks >= 2 and not self.ranks.empty


def oracle_setting(results: pd.DataFrame) -> str | None:
    """The `ORACLE_MEANINGS` key of a table's rows: "loso" from the ``protocol`` column;
    None where the frame does not say (the note then gives every protocol's meaning)."""
    if "protocol" in results.columns and set(results["protocol"]) == {"loso"}:
        return "loso"
    return None


def oracle_note(setting: str | None, references: list[str] = ()) -> str:
    """`ORACLE_NOTE`, one line for each reference method shown, and what the references
    mean under ``setting`` (every setting if None)."""
    meanings = [ORACLE_MEANINGS[setting]] if setting else list(ORACLE_MEANINGS.values())
    return " ".join([ORACLE_NOTE, *(REFERENCE_NOTES[r] for r in references if r in REFERENCE_NOTES),
                     *meanings])


def validation_note(results: pd.DataFrame) -> str | None:
    """What each fold held out as its inner validation part, from the records' ``n_val``."""
    if "n_val" not in results.columns:
        return None
    ok = results[(results["status"] == "ok") & results["n_val"].notna() & results["n_train"].notna()]
    if "oracle" in ok.columns:  # references fit on other data (the consensus: other subjects)
        ok = ok[~ok["oracle"].fillna(False).astype(bool)]
    if ok.empty:
        return None
    share = 100 * ok["n_val"].astype(float) / (ok["n_val"].astype(float) + ok["n_train"].astype(float))
    return (f"Validation: each fold held out part of its non-test data as the inner validation "
            f"part (at least one trial or subject): median {share.median():.0f}% of the non-test "
            f"windows (range {share.min():.0f}–{share.max():.0f}%).")


def weighting_note(results: pd.DataFrame, requested: str, used: str, repeats: int = 1) -> str:
    """Which mean the table ranks, and the effective sample (`reports.ranking.effective_sizes`)."""
    text = WEIGHTING_NOTES[used]
    if used != requested:
        text = text[:-1] + ": not every job carries a trial-balanced mean."
    sizes = effective_sizes(results, repeats)
    if "labels" in sizes:
        text += (f" Effective sample: {sizes['labels']} distinct test labels (trials, summed over blocks)"
                 + (f", from {sizes['windows']} test windows." if "windows" in sizes else "."))
    elif "windows" in sizes:
        text += f" {sizes['windows']} test windows (the number of test trials is not recorded)."
    return text


def build_table(results: pd.DataFrame, title: str, weighting: str = "trial",
                oracle: str | None = None, reference: str | None = None, repeats: int = 1) -> Table:
    """Aggregate per-job results (``records_frame`` rows of one table).

    ``weighting`` picks the mean ranked ("trial" falls back to "window" when the trial-balanced
    columns are missing). ``oracle`` is the `ORACLE_MEANINGS` key saying what the
    references mean here ("trial", "window", "loso"); by default "loso" is read from the
    ``protocol`` column and anything else gets every meaning. ``reference`` is the registry
    name of the reference "gap closed" is measured against (default: the first reference
    column). ``repeats`` is how often the folds were dealt (the effective sample counts each
    label once).

    Rules that keep a table from claiming more than its rows support: a one-subject table with
    several folds uses its folds as blocks (`reports.ranking.single_block_folds`); with a
    single block no rank, bold, † or ± is printed; a column with failed jobs is shown apart
    (mean over its finished blocks, unranked, untested).
    """
    notes = []
    refolded = single_block_folds(results)
    if refolded is not None:
        notes.append(f"One subject: its {refolded['fold'].nunique()} folds are the blocks, with "
                     "the correction for their overlapping training sets (Nadeau & Bengio).")
        results = refolded
    columns = list(dict.fromkeys(results["label"]))
    families = dict(zip(results["label"], results["family"]))
    status = results.groupby("label")["status"].agg(lambda s: (s != "ok").sum())
    for label in columns:
        if status[label]:
            n = int((results["label"] == label).sum())
            errs = results.loc[(results["label"] == label) & (results["status"] != "ok"), "error"]
            notes.append(f"{label}: {status[label]} of {n} jobs did not finish "
                         f"({errs.iloc[0][:160] if len(errs) else ''})")
    used = effective_weighting(results, weighting)
    summary = summarise(results, ["label"], used)
    ok_cols = [c for c in columns if len(summary) and c in set(summary["label"])]
    if ok_cols:
        means = summary.pivot(index="metric", columns="label", values="mean")
    else:  # every job failed: the table shows the failures and nothing else
        means = pd.DataFrame(index=list(METRICS))
    means = means.reindex(index=list(METRICS), columns=ok_cols)
    oracles = oracle_columns(results)
    incomplete = [c for c in incomplete_columns(results) if c in ok_cols and c not in oracles]
    ranked = [c for c in ok_cols if c not in oracles and c not in incomplete]
    n_blocks = int(summary["n_blocks"].max()) if len(summary) else 0
    # Rank the values as printed (4 decimals), so ties in the table are ties in the ranks.
    ranks = rank_table(means[ranked].round(4)) if ranked and n_blocks >= 2 else pd.DataFrame()
    shown = {}
    if incomplete:
        all_blocks = results["block"].nunique()
        for c in incomplete:
            done = results.loc[(results["label"] == c) & (results["status"] == "ok"), "block"].nunique()
            shown[c] = f"{done} of {all_blocks} blocks"
        notes.append("Shown apart, unranked and untested: " + "; ".join(f"{c} finished {v}" for c, v in shown.items())
                     + ". Its cells are means over the blocks it finished; ranks, bold and † use "
                     "only the methods that finished every block.")
    table = Table(title, columns, families, means, ranks, summary, notes, unranked=oracles + incomplete,
                  weighting=used, design=block_design(results), seeds=seed_design(results),
                  rows=results, incomplete=shown, n_blocks=n_blocks)
    if n_blocks < 2 and ok_cols:
        notes.append(f"One block: no spread, rank, bold or † is shown, since a single "
                     f"{table.design.unit.rstrip('s') or 'block'} cannot separate one method from another.")
    notes.append(weighting_note(results, weighting, used, repeats))
    val = validation_note(results)
    if val:
        notes.append(val)
    setting = oracle or oracle_setting(results)
    if oracles:
        names = list(dict.fromkeys(results.loc[results["label"].isin(oracles), "method"]))
        notes.append(oracle_note(setting, names))
    if setting in SEED_MEANINGS and results["seed"].nunique() > 1:
        notes.append(SEED_MEANINGS[setting])
    prior = prior_column(results)
    ref = _reference_column(results, oracles, reference)
    if ok_cols and prior in ok_cols and ref in ok_cols and n_blocks >= 2:
        blocks = block_means(results, ["label"], used)
        table.extra_rows.update(gap_rows(table, blocks, prior, ref))
    elif ok_cols and not oracles:
        notes.append("No gap rows: no stimulus reference in this table ("
                     + (f"the protocol's reference, {reference}, needs a stimulus identity and, for "
                        "the consensus, a second subject, which this data lacks)." if reference else
                        "the protocol names none: its samples carry no stimulus identity)."))
    return table


def _reference_column(results: pd.DataFrame, oracles: list[str], reference: str | None) -> str | None:
    """The label of the reference the gap is measured against: the column of method
    ``reference`` when given and present, else the first reference column."""
    if reference is not None and "method" in results.columns:
        labels = results.loc[(results["method"] == reference) & results["label"].isin(oracles), "label"]
        if len(labels):
            return str(labels.iloc[0])
    return oracles[0] if oracles else None


def bootstrap_means(values: np.ndarray, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """(n_boot, columns) means of ``values`` (blocks × columns) over blocks drawn with
    replacement, the same draws for every column (so their differences and ratios are paired)."""
    idx = np.random.default_rng(seed).integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(axis=1)


def gap_closed(blocks: pd.DataFrame, metric: str, prior: str, oracle: str,
               column: str) -> tuple[float, float, float]:
    """(prior − column) / (prior − oracle) of the mean of ``metric`` over the blocks where all
    three finished, with its 95% percentile bootstrap interval: (value, low, high)."""
    wide = blocks.pivot(index="block", columns="label", values=metric)[[prior, oracle, column]].dropna()
    boot = bootstrap_means(wide.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = (boot[:, 0] - boot[:, 2]) / (boot[:, 0] - boot[:, 1])
    m = wide.mean()
    low, high = np.nanpercentile(ratios, [2.5, 97.5])
    return float((m[prior] - m[column]) / (m[prior] - m[oracle])), float(low), float(high)


def oracle_advantage(blocks: pd.DataFrame, metric: str, prior: str,
                     oracle: str) -> tuple[int, float, float]:
    """(blocks, low, high): the 95% percentile bootstrap interval over blocks of how much better
    the oracle's mean is than the prior's (prior − oracle for a loss), positive = better; NaN
    with fewer than two blocks."""
    wide = blocks.pivot(index="block", columns="label", values=metric)[[prior, oracle]].dropna()
    if len(wide) < 2:  # one block resamples to itself: no interval
        return len(wide), float("nan"), float("nan")
    sign = -1.0 if HIGHER_IS_BETTER[metric] else 1.0
    boot = bootstrap_means(wide.to_numpy())
    low, high = np.percentile(sign * (boot[:, 0] - boot[:, 1]), [2.5, 97.5])
    return len(wide), float(low), float(high)


def gap_rows(table: Table, blocks: pd.DataFrame, prior: str, oracle: str) -> dict[str, dict[str, str]]:
    """The "Gap closed (KL)" and "Gap closed (Chebyshev)" rows, each cell the value and its
    bootstrap interval over blocks (``blocks``: `reports.ranking.block_means` by label); a
    metric where the oracle is not significantly better than the prior gets a note instead."""
    rows = {}
    for metric in GAP_METRICS:
        name = f"Gap closed ({METRIC_TITLES[metric]}) ↑"
        n, low, high = oracle_advantage(blocks, metric, prior, oracle)
        if not low > 0:
            why = (f"95% bootstrap interval of their difference over {n} blocks: [{low:.4f}, "
                   f"{high:.4f}], includes 0" if n > 1 else f"{n} block(s), no interval")
            table.notes.append(f"{name}: not shown, the {oracle} is not significantly better than "
                               f"the prior ({why}).")
            continue
        cells = {prior: "0.00", oracle: "1.00"}
        # incomplete columns are shown apart: no gap over other blocks than the rest
        others = [c for c in table.means.columns.drop([prior, oracle]) if c not in table.incomplete]
        for col in others:
            value, lo, hi = gap_closed(blocks, metric, prior, oracle, col)
            cells[col] = f"{value:.2f} [{lo:.2f}, {hi:.2f}]"
        rows[name] = cells
    if rows:
        table.notes.append(
            f"Gap closed: (prior − method) / (prior − reference) of the means over blocks, 0 = the "
            f"prior, 1 = the {oracle} (a reference, see ‡), negative = worse than the prior; "
            f"[95% percentile bootstrap interval, {N_BOOT} resamples of blocks].")
    return rows


def _cell(table: Table, metric: str, col: str, bold: tuple[str, str]) -> str:
    if col not in table.means.columns:
        return "failed"
    v = table.means.at[metric, col]
    if col in table.incomplete:
        return f"{v:.4f} ({table.incomplete[col]})"
    if col in table.unranked or not table.ranked:  # a perfect oracle's KL may be -1e-17: no "-0.0000"
        return f"{v:.4f}".replace("-0.0000", "0.0000")
    r = int(table.ranks.at[metric, col])
    text = f"{v:.4f} ({r})"
    text = f"{bold[0]}{text}{bold[1]}" if r == 1 else text
    return text + table.marks.get(metric, {}).get(col, "")


def _avg_cell(table: Table, col: str, bold: tuple[str, str]) -> str:
    if col not in table.means.columns or col in table.unranked or not table.ranked:
        return "—"
    a, r = table.ranks.at["avg_rank", col], int(table.ranks.at["avg_rank_rank", col])
    text = f"{a:.2f} ({r})"
    return f"{bold[0]}{text}{bold[1]}" if r == 1 else text


def _rows(table: Table, bold: tuple[str, str]) -> list[list[str]]:
    rows = [[f"{METRIC_TITLES[m]} {ARROWS[m]}"] + [_cell(table, m, c, bold) for c in table.columns]
            for m in METRICS]
    rows.append(["Average Rank ↓"] + [_avg_cell(table, c, bold) for c in table.columns])
    rows += [[name] + [vals.get(c, "") for c in table.columns] for name, vals in table.extra_rows.items()]
    return rows


def to_markdown(table: Table) -> str:
    header = ["Metric"] + table.columns
    fam = ["*family*"] + [table.families.get(c, "") for c in table.columns]
    lines = [f"### {table.title}", "", "| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + [":---:"] * len(table.columns)) + "|",
             "| " + " | ".join(fam) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(table, ("**", "**"))]
    spread = _spread_markdown(table)
    values = (f"Values: mean over blocks ({table.design.unit}), rank in parentheses (competition "
              "ranking), best in bold." if table.ranked else f"Values: mean over blocks ({table.design.unit}).")
    lines += ["", values] + [f"- {n}" for n in table.notes]
    return "\n".join(lines + ["", spread]) + "\n"


def _spread_cell(r: pd.Series, seeds: str) -> str:
    if r["n_blocks"] < 2:  # one block: no spread to show
        return f"{r['mean']:.4f}"
    text = f"{r['mean']:.4f} ± {r['std']:.4f} [±{r['ci95']:.4f}]"
    if np.isfinite(r.get("within_std", np.nan)):
        text += f"; within sd {r['within_std']:.4f}"
    if seeds == "separate":
        for name, col in (("split sd", "split_seed_std"), ("model sd", "model_seed_std")):
            text += f"; {name} {r[col]:.4f}" if np.isfinite(r[col]) else ""
    elif r["seed_std"] > 0:
        text += f"; seed sd {r['seed_std']:.4f}"
    return text


def _spread_note(table: Table) -> str:
    s, design = table.summary, table.design
    n = int(s["n_blocks"].max())
    ci = ("95% CI half-width, Nadeau–Bengio corrected resampled t: the folds' training sets "
          f"overlap, so variance × (1/J + n_test/n_train), n_test/n_train = "
          f"{design.test_train_ratio:.3g}" if design.kind == "fold" else "95% CI half-width, t-distribution")
    if n < 2:
        return f"Spread: not shown, one block ({design.unit.rstrip('s')})."
    text = f"Spread: mean ± std over blocks ({design.unit}) [{ci}], n = {n} blocks."
    if s["within_std"].notna().any():
        text += (" Within sd: the std of a score over one subject's folds (each tests other "
                 "trials), pooled over subjects: how much a score depends on which trials are "
                 "tested, beside the std between subjects.")
    if table.seeds == "separate":
        text += (" Split sd: std over split seeds of their means (each split seed redraws the "
                 "partition); model sd: std over model seeds with the partition fixed, pooled "
                 "over split seeds (shown where there are several).")
    elif (s["seed_std"] > 0).any():
        text += " Seed sd: std over seeds of the seed-wise means (seed variance, apart from block variance)."
        if table.seeds == "joint":
            text += (" Each seed redraws both the partition and the model initialisation, so "
                     "the seed sd mixes split and model variation.")
    return text


def _spread_markdown(table: Table) -> str:
    s = table.summary
    if s.empty:
        return ""
    lines = ["| Method | " + " | ".join(METRIC_TITLES[m] for m in METRICS) + " |",
             "|---|" + "---|" * len(METRICS)]
    for col in table.means.columns:
        rows = s[s["label"] == col].set_index("metric")
        lines.append(f"| {col} | " + " | ".join(_spread_cell(rows.loc[m], table.seeds)
                                                 for m in METRICS) + " |")
    return _spread_note(table) + "\n\n" + "\n".join(lines)


def _tex(text: str) -> str:
    for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("↑", r"$\uparrow$"),
                 ("↓", r"$\downarrow$"), ("—", "--"), ("±", r"$\pm$"), ("†", r"$^\dagger$"),
                 ("‡", r"$^\ddagger$")):
        text = text.replace(a, b)
    return text


def to_latex(table: Table) -> str:
    cols = table.columns
    groups = [(f, sum(1 for _ in g)) for f, g in
              itertools.groupby(table.families.get(c, "") for c in cols)]
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(table.title)}}}",
             r"\resizebox{\linewidth}{!}{%", r"\begin{tabular}{l" + "c" * len(cols) + "}",
             r"\toprule"]
    lines.append(" & " + " & ".join(rf"\multicolumn{{{n}}}{{c}}{{{_tex(f)}}}" for f, n in groups) + r" \\")
    start, rules = 2, []
    for _, n in groups:
        rules.append(rf"\cmidrule(lr){{{start}-{start + n - 1}}}")
        start += n
    lines.append(" ".join(rules))
    lines.append("Metric & " + " & ".join(_tex(c) for c in cols) + r" \\")
    lines.append(r"\midrule")
    for i, row in enumerate(_rows(table, (r"\textbf{", "}"))):
        if i == len(METRICS):
            lines.append(r"\midrule")
        lines.append(" & ".join(_tex(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}"]
    return "\n".join(lines) + "\n"
