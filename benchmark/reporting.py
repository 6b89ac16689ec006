"""Render a run directory: ranked tables with significance marks and the label-correlation
row, the cost table, and on request figures, a self-contained HTML page and the comparison
with the paper's published numbers.

Every table's title says what produced it (`benchmark.results.TableKey.title`): dataset
and label construction, protocol and split design, feature normalisation, preset, and defaults or
tuning. Titles are for people: tables are made and matched by their typed key
(`benchmark.results`), never by this text."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reports import costs, figures, paper, stats
from reports.tables import Table, to_latex, to_markdown

from .results import Part, open_run
from .rundir import RunDir


def annotated_tables(part: Part) -> list[tuple[Table, pd.DataFrame, dict]]:
    """Per table of a run's part (`benchmark.results.group`): the table annotated with
    significance marks and the label-correlation row, the rows it was built from, and its tests
    ({metric: MetricTest})."""
    out = []
    for tr in part.tables:
        table = tr.table()
        grp = table.rows  # the rows as the table counts blocks (a one-subject table: its folds)
        tests = stats.table_tests(grp, weighting=table.weighting)
        stats.annotate_table(table, tests)
        row = figures.correlation_row(figures.job_predictions(grp, part.rundir.load_predictions))
        table.extra_rows.update(row)
        if not row:
            table.notes.append(figures.CORRELATION_MISSING.format(row=figures.CORRELATION_ROW))
        out.append((table, grp, tests))
    return out


def _best_label(table: Table) -> str | None:
    return None if table.ranks.empty else str(table.ranks.loc["avg_rank"].astype(float).idxmin())


def _figures(rundir: RunDir, tables, emotions) -> list[Path]:
    """Per table: the CD diagram (KL), Fig. 5 (distributions of selected test samples of the
    first block, every method) and Fig. 9 (correlations of the best method per subject)."""
    paths = []
    fig_dir = rundir.figures_dir
    for table, grp, _ in tables:
        tag = grp["protocol"].iloc[0]
        styles = figures.series_styles(table.columns)  # one colour per column in every figure
        paths += stats.cd_diagram(stats.block_matrix(table.rows, "kl", weighting=table.weighting), "kl",
                                  fig_dir / f"cd_kl_{tag}", design=table.design,
                                  colors={k: s["color"] for k, s in styles.items()})
        jobs = figures.job_predictions(grp, rundir.load_predictions)
        best = _best_label(table)
        best_jobs = [j for j in jobs if j.label == best]
        if not best_jobs:
            continue
        ref = best_jobs[0]
        sel = figures.pick_samples(ref.truth, ref.pred)
        preds = {j.label: j.pred[sel] for j in jobs if j.block == ref.block and j.seed == ref.seed}
        paths += figures.plot_distributions(ref.truth[sel], preds, list(emotions),
                                            fig_dir / f"distributions_{tag}", styles=styles)
        paths += figures.plot_correlations(
            np.concatenate([j.truth for j in best_jobs]), np.concatenate([j.pred for j in best_jobs]),
            np.concatenate([[j.block] * len(j.index) for j in best_jobs]), list(emotions),
            fig_dir / f"correlations_{tag}", title=best)
    return [p for p in paths if p.suffix == ".png"]


def render_part(part: Part, formats=("md", "tex"), with_figures: bool = False, html: bool = False,
                compare_paper: bool = False) -> str:
    """Write ``table.md``/``table.tex`` (and figures, ``report.html``, the paper comparison on
    request) for one run read by `benchmark.results.read_part`; return the Markdown.
    Renders from what the run wrote (records, predictions with their true labels, run.json),
    never reloading the dataset. ``compare_paper`` on a dataset the paper did not use raises
    ``ValueError`` saying so."""
    rundir, manifest, missing = part.rundir, part.manifest, part.missing
    results = part.frame
    # one table's rows at a time: the tables are the reader's (benchmark.results.group)
    comparisons = ([c for tr in part.tables for c in paper.compare_results(tr.frame, manifest.protocol_options)]
                   if compare_paper else [])
    tables = annotated_tables(part) if len(results) else []
    md_parts, tex_parts = [], []
    for table, grp, _ in tables:
        if missing:
            table.notes.append(f"INCOMPLETE: {len(missing)} of {len(manifest.jobs)} jobs missing "
                               "from this run; these values are not final")
        if part.mixed:
            table.notes.append(part.mixed)
        frame = costs.cost_frame(grp)
        md_parts += [to_markdown(table), costs.cost_markdown(frame, table.title)]
        tex_parts += [to_latex(table), costs.cost_latex(frame, table.title)]
    for title, frame in comparisons:
        md_parts.append(paper.comparison_markdown(frame, title))
        tex_parts.append(paper.comparison_latex(frame, title))
    md = "\n".join(md_parts)
    if "md" in formats:
        rundir.write_table("md", md)
    if "tex" in formats:
        rundir.write_table("tex", "\n".join(tex_parts))
    if with_figures or html:
        pngs = _figures(rundir, tables, manifest.emotions)
        if html:
            from reports.html import write_page

            write_page(rundir.report_path, f"{manifest.dataset} — {manifest.protocol}", md_parts, pngs)
    return md


def render_sweep(part: Part, sweep: dict[str, list]) -> list[Path]:
    """Hyper-parameter curves (Figs. 6-8): one figure per swept parameter of an experiment's
    part; ``sweep`` maps a column label to (parameter, value)."""
    from reports.ranking import summarise

    results = part.frame
    results = results[results["label"].isin(sweep)].copy()
    results["parameter"] = results["label"].map(lambda c: sweep[c][0])
    results["value"] = results["label"].map(lambda c: sweep[c][1])
    paths = []
    for param, grp in results.groupby("parameter", sort=False):
        summary = summarise(grp, ["value"])
        stem = part.rundir.figures_dir / f"sweep_{param.split()[-1]}"
        paths += figures.plot_hyperparameter_curves(summary, "value", stem, title=f"MPCL: {param}")
    return paths


def render_any(out: RunDir | Path, formats=("md", "tex"), allow_incomplete: bool = False,
               with_figures: bool = False, html: bool = False, compare_paper: bool = False,
               allow_mixed_code: bool = False) -> str:
    """Render a plain run, or every part of an experiment (with its sweep curves), read once by
    `benchmark.results.open_run`, which refuses an incomplete run
    (`IncompleteRunError`) unless ``allow_incomplete`` (the tables
    then say what is missing) and records of mixed code (`MixedCodeError`)
    unless ``allow_mixed_code`` (the tables then say so)."""
    run = open_run(out, allow_incomplete=allow_incomplete, allow_mixed_code=allow_mixed_code)
    sweeps = (run.experiment or {}).get("sweeps", {})
    parts = []
    for part in run.parts:
        parts.append(render_part(part, formats, with_figures, html, compare_paper))
        if part.name in sweeps:
            render_sweep(part, sweeps[part.name])
    md = "\n".join(parts)
    if run.experiment is not None:
        run.rundir.write_table("md", md)
    return md
