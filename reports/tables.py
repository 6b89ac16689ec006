"""Ranked tables in the paper's layout: methods as columns grouped by family, the six metrics
and Average Rank as rows, per-metric rank in parentheses, best in bold; Markdown and LaTeX
(booktabs) rendered from one :class:`Table`.

Oracle references (the stimulus oracle) are shown with their means but no rank, are never bold
and never enter the average rank; with the prior they define the "Gap closed" rows: the fraction
(prior − method) / (prior − oracle) of the floor-to-ceiling gap a method closes, per metric,
negative when the method is worse than the prior.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import itertools

import pandas as pd

from .metrics import ARROWS, HIGHER_IS_BETTER, METRICS
from .ranking import oracle_columns, prior_column, rank_table, summarise

METRIC_TITLES = {"chebyshev": "Chebyshev", "clark": "Clark", "canberra": "Canberra",
                 "kl": "KL", "cosine": "Cosine", "intersection": "Intersection"}
GAP_METRICS = ("kl", "chebyshev")
ORACLE_NOTE = ("‡ marks an oracle, not a method: per test window, the mean training label of "
               "the windows with the same stimulus (clip; WESAD: condition), which no method is "
               "given (a stimulus unseen in training gets the training mean). A ceiling beside the "
               "prior's floor: never ranked, never in the significance tests.")


@dataclass
class Table:
    """One table: ``means`` and ``ranks`` have metrics as rows and column labels as columns."""

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


def build_table(results: pd.DataFrame, title: str) -> Table:
    """Aggregate per-job results (``records_frame`` rows of one dataset and protocol)."""
    columns = list(dict.fromkeys(results["label"]))
    families = dict(zip(results["label"], results["family"]))
    notes = []
    status = results.groupby("label")["status"].agg(lambda s: (s != "ok").sum())
    for label in columns:
        if status[label]:
            n = int((results["label"] == label).sum())
            errs = results.loc[(results["label"] == label) & (results["status"] != "ok"), "error"]
            notes.append(f"{label}: {status[label]} of {n} jobs did not finish "
                         f"({errs.iloc[0][:160] if len(errs) else ''})")
    summary = summarise(results, ["label"])
    ok_cols = [c for c in columns if len(summary) and c in set(summary["label"])]
    if ok_cols:
        means = summary.pivot(index="metric", columns="label", values="mean")
    else:  # every job failed: the table shows the failures and nothing else
        means = pd.DataFrame(index=list(METRICS))
    means = means.reindex(index=list(METRICS), columns=ok_cols)
    oracles = oracle_columns(results)
    ranked = [c for c in ok_cols if c not in oracles]
    # Rank the values as printed (4 decimals), so ties in the table are ties in the ranks.
    ranks = rank_table(means[ranked].round(4)) if ranked else pd.DataFrame()
    table = Table(title, columns, families, means, ranks, summary, notes, unranked=oracles)
    if oracles:
        notes.append(ORACLE_NOTE)
    table.extra_rows.update(gap_rows(table, prior_column(results)))
    return table


def gap_closed(means: pd.DataFrame, metric: str, prior: str, oracle: str) -> pd.Series | None:
    """(prior − column) / (prior − oracle) of ``metric`` for every column (positive when the
    column is better than the prior, whichever the metric's direction); None when the oracle is
    not better than the prior, where the fraction means nothing."""
    gap = means.at[metric, prior] - means.at[metric, oracle]
    sign = -1.0 if HIGHER_IS_BETTER[metric] else 1.0
    if not sign * gap > 1e-12:
        return None
    return (means.loc[metric, prior] - means.loc[metric]) / gap


def gap_rows(table: Table, prior: str | None) -> dict[str, dict[str, str]]:
    """The "Gap closed (KL)" and "Gap closed (Chebyshev)" rows, when the table has the prior
    and an oracle; a metric where the oracle does not beat the prior gets a note instead."""
    cols = table.means.columns
    if prior not in cols or not table.unranked or table.unranked[0] not in cols:
        return {}
    oracle, rows = table.unranked[0], {}
    for metric in GAP_METRICS:
        frac = gap_closed(table.means, metric, prior, oracle)
        name = f"Gap closed ({METRIC_TITLES[metric]}) ↑"
        if frac is None:
            table.notes.append(f"{name}: not defined, the oracle is not better than the prior.")
            continue
        rows[name] = {c: f"{frac[c]:.2f}" for c in cols}
    if rows:
        table.notes.append("Gap closed: (prior − method) / (prior − oracle) of the mean; 0 = the "
                           "prior's floor, 1 = the stimulus oracle's ceiling, negative = worse than "
                           "the prior.")
    return rows


def _cell(table: Table, metric: str, col: str, bold: tuple[str, str]) -> str:
    if col not in table.means.columns:
        return "failed"
    v = table.means.at[metric, col]
    if col in table.unranked:  # a perfect oracle's KL may be -1e-17: no "-0.0000"
        return f"{v:.4f}".replace("-0.0000", "0.0000")
    r = int(table.ranks.at[metric, col])
    text = f"{v:.4f} ({r})"
    text = f"{bold[0]}{text}{bold[1]}" if r == 1 else text
    return text + table.marks.get(metric, {}).get(col, "")


def _avg_cell(table: Table, col: str, bold: tuple[str, str]) -> str:
    if col not in table.means.columns or col in table.unranked:
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
    lines += ["", "Values: mean over blocks (subjects; folds for k-fold CV), rank in parentheses "
              "(competition ranking), best in bold."] + [f"- {n}" for n in table.notes]
    return "\n".join(lines + ["", spread]) + "\n"


def _spread_markdown(table: Table) -> str:
    s = table.summary
    if s.empty:
        return ""
    lines = ["| Method | " + " | ".join(METRIC_TITLES[m] for m in METRICS) + " |",
             "|---|" + "---|" * len(METRICS)]
    seeds = bool((s["seed_std"] > 0).any())
    for col in table.means.columns:
        cells = []
        for m in METRICS:
            r = s[(s["label"] == col) & (s["metric"] == m)].iloc[0]
            seed = f"; seed sd {r['seed_std']:.4f}" if seeds else ""
            cells.append(f"{r['mean']:.4f} ± {r['std']:.4f} [±{r['ci95']:.4f}]{seed}")
        lines.append(f"| {col} | " + " | ".join(cells) + " |")
    n = int(s["n_blocks"].max())
    seed_note = (" Seed sd: std over seeds of the seed-wise means (seed variance, apart from "
                 "subject variance).") if seeds else ""
    return ("Spread: mean ± std over blocks [95% CI half-width, t-distribution], "
            f"n = {n} blocks.{seed_note}\n\n" + "\n".join(lines))


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
