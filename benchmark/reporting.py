"""Render a run directory: ranked tables with significance marks and the label-correlation
row, the cost table, and on request figures, a self-contained HTML page and the comparison
with the paper's published numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reports import costs, figures, paper, stats
from reports.tables import Table, build_table, to_latex, to_markdown

from .runner import load_run
from .store import Store, atomic_write, records_frame


class IncompleteRunError(RuntimeError):
    """Some expected jobs of the run have no valid record."""


def _by_protocol(results: pd.DataFrame) -> list[tuple[Table, pd.DataFrame]]:
    """One plain table per (dataset, protocol), with the rows it was built from."""
    return [(build_table(grp, f"{dataset} — {protocol}"), grp)
            for (dataset, protocol), grp in results.groupby(["dataset", "protocol"], sort=False)]


def _tables(results: pd.DataFrame, labels, store: Store) -> list[tuple[Table, pd.DataFrame]]:
    """The tables annotated with significance marks and the label-correlation row."""
    out = []
    for table, grp in _by_protocol(results):
        stats.annotate_table(table, stats.table_tests(grp))
        table.extra_rows.update(figures.correlation_row(
            figures.job_predictions(grp, labels, store.load_predictions)))
        out.append((table, grp))
    return out


def _best_label(table: Table) -> str | None:
    return None if table.ranks.empty else str(table.ranks.loc["avg_rank"].astype(float).idxmin())


def _figures(out: Path, tables, labels, emotions, store: Store) -> list[Path]:
    """Per table: the CD diagram (KL), Fig. 5 (distributions of selected test samples of the
    first block, every method) and Fig. 9 (correlations of the best method per subject)."""
    paths = []
    fig_dir = out / "figures"
    for table, grp in tables:
        tag = grp["protocol"].iloc[0]
        paths += stats.cd_diagram(stats.block_matrix(grp, "kl"), "kl", fig_dir / f"cd_kl_{tag}")
        jobs = figures.job_predictions(grp, labels, store.load_predictions)
        best = _best_label(table)
        best_jobs = [j for j in jobs if j.label == best]
        if not best_jobs:
            continue
        ref = best_jobs[0]
        sel = figures.pick_samples(ref.truth, ref.pred)
        preds = {j.label: j.pred[sel] for j in jobs if j.block == ref.block and j.seed == ref.seed}
        paths += figures.plot_distributions(ref.truth[sel], preds, list(emotions),
                                            fig_dir / f"distributions_{tag}")
        paths += figures.plot_correlations(
            np.concatenate([j.truth for j in best_jobs]), np.concatenate([j.pred for j in best_jobs]),
            np.concatenate([[j.block] * len(j.index) for j in best_jobs]), list(emotions),
            fig_dir / f"correlations_{tag}", title=best)
    return [p for p in paths if p.suffix == ".png"]


def render_run(out: Path, formats=("md", "tex"), allow_incomplete: bool = False,
               with_figures: bool = False, html: bool = False, compare_paper: bool = False) -> str:
    """Write ``table.md``/``table.tex`` (and figures, ``report.html``, the paper comparison on
    request) for the run at ``out``; return the Markdown.

    Refuses (``IncompleteRunError``) when expected jobs are missing, unless
    ``allow_incomplete``, in which case the tables say what is missing. ``compare_paper`` on a
    dataset the paper did not use raises ``ValueError`` saying so.
    """
    from datasets import load_dataset

    out = Path(out)
    manifest, records, missing = load_run(out)
    if missing and not allow_incomplete:
        raise IncompleteRunError(
            f"{out}: {len(missing)} of {len(manifest['jobs'])} jobs have no valid record; "
            "resume with the same `run` command, or pass --allow-incomplete")
    results = records_frame(records)
    comparisons = paper.compare_results(results, manifest.get("protocol_options")) if compare_paper else []
    data = load_dataset(manifest["dataset"], **manifest["dataset_options"])
    store = Store(out)
    tables = _tables(results, data.labels, store) if len(results) else []
    md_parts, tex_parts = [], []
    for table, grp in tables:
        if missing:
            table.notes.append(f"INCOMPLETE: {len(missing)} of {len(manifest['jobs'])} jobs missing "
                               "from this run; these values are not final")
        frame = costs.cost_frame(grp)
        md_parts += [to_markdown(table), costs.cost_markdown(frame, table.title)]
        tex_parts += [to_latex(table), costs.cost_latex(frame, table.title)]
    for title, frame in comparisons:
        md_parts.append(paper.comparison_markdown(frame, title))
        tex_parts.append(paper.comparison_latex(frame, title))
    md = "\n".join(md_parts)
    if "md" in formats:
        atomic_write(out / "table.md", md.encode())
    if "tex" in formats:
        atomic_write(out / "table.tex", "\n".join(tex_parts).encode())
    if with_figures or html:
        pngs = _figures(out, tables, data.labels, data.emotions, store)
        if html:
            from reports.html import write_page

            write_page(out / "report.html", f"{manifest['dataset']} — {manifest['protocol']}", md_parts, pngs)
    return md


def label_means(results: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{table title: {column label: {metric: mean}}} — what the regression gate compares."""
    return {t.title: {c: {m: round(float(t.means.at[m, c]), 6) for m in t.means.index}
                      for c in t.means.columns}
            for t, _ in _by_protocol(results)}


def render_sweep(out: Path, sweep: dict[str, list]) -> list[Path]:
    """Hyper-parameter curves (Figs. 6-8): one figure per swept parameter of the run at ``out``;
    ``sweep`` maps a column label to (parameter, value)."""
    from reports.ranking import summarise

    _, records, _ = load_run(out)
    results = records_frame(records)
    results = results[results["label"].isin(sweep)].copy()
    results["parameter"] = results["label"].map(lambda c: sweep[c][0])
    results["value"] = results["label"].map(lambda c: sweep[c][1])
    paths = []
    for param, grp in results.groupby("parameter", sort=False):
        summary = summarise(grp, ["value"])
        stem = out / "figures" / f"sweep_{param.split()[-1]}"
        paths += figures.plot_hyperparameter_curves(summary, "value", stem, title=f"MPCL: {param}")
    return paths


def render_any(out: Path, **options) -> str:
    """Render a plain run, or every part of an experiment (with its sweep curves)."""
    from protocols.experiments import experiment_manifest

    manifest = experiment_manifest(out)
    if manifest is None:
        return render_run(out, **options)
    parts = []
    for name in manifest["parts"]:
        parts.append(render_run(Path(out) / name, **options))
        if name in manifest.get("sweeps", {}):
            render_sweep(Path(out) / name, manifest["sweeps"][name])
    md = "\n".join(parts)
    atomic_write(Path(out) / "table.md", md.encode())
    return md
