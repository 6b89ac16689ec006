"""Render a run directory: ranked tables with significance marks and the label-correlation
row, the cost table, and on request figures, a self-contained HTML page and the comparison
with the paper's published numbers.

Every table's title says what produced it (:func:`table_title`): dataset and label
construction, protocol and split design, feature normalisation, preset, and defaults or
tuning. Titles are for people: the regression gate keys its baselines by the records' structured
configuration (:mod:`benchmark.check`), never by this text."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reports import costs, figures, paper, stats
from reports.tables import Table, build_table, to_latex, to_markdown

from .errors import BenchmarkError, RunDirError
from .records import records_frame
from .rundir import RunDir


class IncompleteRunError(BenchmarkError, RuntimeError):
    """Some expected jobs of the run have no valid record."""


class MixedCodeError(RunDirError):
    """The records of a run were made by different versions of the suite's code."""


def _label_construction(dataset: str, options: dict) -> str | None:
    """The ``items`` option (the label construction) as given, else the loader's default; None
    for loaders without one."""
    import inspect

    from .errors import UsageError
    from .validate import dataset as loader_of

    items = options.get("items")
    if items is None:
        try:
            param = inspect.signature(loader_of(dataset)).parameters.get("items")
        except UsageError:  # a dataset no longer registered: its records still render
            return None
        items = None if param is None else param.default
    if items is None or isinstance(items, str):
        return items
    return ",".join(items)


def table_title(records: list[dict]) -> str:
    """The title of the table of ``records`` (one dataset and protocol), from their configs:
    ``dataset [items=...] — protocol (grouping) — normalisation — preset — defaults/tuning``."""
    cfg = records[0]["config"]
    dataset, protocol = cfg["dataset"]["name"], cfg["protocol"]["name"]
    items = _label_construction(dataset, cfg["dataset"]["options"])
    options = dict(cfg["protocol"]["options"])
    normalize = options.pop("normalize", "none")
    return " — ".join([
        dataset + (f" [items={items}]" if items else ""), protocol_phrase(protocol, options),
        {"none": "no normalisation", "subject": "per-subject normalisation"}.get(
            normalize, f"normalize={normalize}"),
        f"{cfg['method']['preset']} preset",
        _tuning_phrase(records),
    ])


def protocol_phrase(protocol: str, options: dict) -> str:
    """The protocol and its split design in words, e.g. ``subject-dependent (trials held out: 1
    of 5 folds per subject)``; the paper's window split says that it is optimistic."""
    options = dict(options)
    val = options.pop("val_size", None)
    repeats = options.pop("repeats", 1)
    if protocol == "subject-dependent":
        group, k, folds = options.pop("group", "trial"), options.pop("n_splits", 5), options.pop("folds", 1)
        runs = f"all {k} folds" if folds is None or folds >= k else f"{folds} of {k} folds"
        design = (f"trials held out: {runs} per subject" if group == "trial" else
                  f"window split, {runs} per subject: windows of one trial on both sides, optimistic")
    elif protocol == "kfold":
        design = f"{options.pop('n_splits', 10)} folds"
    else:
        design = ""
    extra = [design] if design else []
    extra += [f"× {repeats} repeats"] if repeats and repeats > 1 else []
    extra += [f"{k}={v}" for k, v in sorted(options.items())]
    extra += [f"val_size={val}"] if val is not None and val != 0.1 else []
    return protocol + (f" ({', '.join(extra)})" if extra else "")


def _tuning_phrase(records: list[dict]) -> str:
    """"defaults", "tuned, budget N per method", or — when only some methods were tuned (the
    ``paper`` preset tunes where the method's paper did) — which ones. Reference columns
    (prior, oracle) have nothing to tune and are left out."""
    budgets = {r.get("label"): r["config"]["method"].get("tune") or 0
               for r in records if r.get("family") != "reference"}
    budget = max(budgets.values(), default=0)
    if not budget:
        return "defaults"
    if all(budgets.values()):
        return f"tuned, budget {budget} per method"
    tuned = ", ".join(sorted(label for label, tune in budgets.items() if tune))
    return f"tuned, budget {budget} per method: {tuned}; defaults for the rest"


def _by_protocol(records: list[dict]) -> list[tuple[Table, pd.DataFrame]]:
    """One plain table per (dataset, protocol), with the rows it was built from."""
    results = records_frame(records)
    out = []
    for _, grp in results.groupby(["dataset", "protocol"], sort=False):
        first = records[grp.index[0]]["config"]["protocol"]
        oracle = ("loso" if first["name"] == "loso" else first["options"].get("group")
                  if first["name"] == "subject-dependent" else None)
        out.append((build_table(grp, table_title([records[i] for i in grp.index]), oracle=oracle), grp))
    return out


def annotated_tables(records: list[dict], rundir: RunDir) -> list[tuple[Table, pd.DataFrame, dict]]:
    """Per (dataset, protocol): the table annotated with significance marks and the
    label-correlation row, the rows it was built from, and its tests ({metric: MetricTest})."""
    out = []
    for table, grp in _by_protocol(records):
        tests = stats.table_tests(grp, weighting=table.weighting)
        stats.annotate_table(table, tests)
        table.extra_rows.update(figures.correlation_row(
            figures.job_predictions(grp, rundir.load_predictions)))
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
        paths += stats.cd_diagram(stats.block_matrix(grp, "kl", weighting=table.weighting), "kl",
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


def _code_versions(records: list[dict]) -> dict[str, list[dict]]:
    """Records by the code fingerprint that made them."""
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r.get("code") or "unknown", []).append(r)
    return out


def _mixed_code(rundir: RunDir, records: list[dict], allow: bool) -> str | None:
    """None when every record was made by the same code; else the note for the table (with
    ``allow``) or :class:`MixedCodeError` naming the versions and an example record of each."""
    versions = _code_versions(records)
    if len(versions) < 2:
        return None
    parts = [f"{code} ({len(recs)} records, git {recs[0].get('provenance', {}).get('git_commit') or '?'}"
             f"; e.g. {rundir.record_path(recs[0]['key'])})" for code, recs in versions.items()]
    if not allow:
        raise MixedCodeError(f"{rundir.root}: its records were made by {len(versions)} versions of the "
                             f"suite's code: {'; '.join(parts)}. Re-run into a new --out to compute "
                             "every job with the current code, or pass --allow-mixed-code")
    return (f"Records made by {len(versions)} versions of the suite's code (fingerprints "
            f"{', '.join(versions)}); jobs whose results that code shapes were recomputed, the "
            "others reused (`report` refuses such a run unless --allow-mixed-code).")


def render_run(out: RunDir | Path, formats=("md", "tex"), allow_incomplete: bool = False,
               with_figures: bool = False, html: bool = False, compare_paper: bool = False,
               allow_mixed_code: bool = False) -> str:
    """Write ``table.md``/``table.tex`` (and figures, ``report.html``, the paper comparison on
    request) for the run at ``out``; return the Markdown. Renders from what the run wrote
    (records, predictions with their true labels, run.json), never reloading the dataset.

    Refuses (``IncompleteRunError``) when expected jobs are missing, unless
    ``allow_incomplete``, in which case the tables say what is missing; and
    (``MixedCodeError``) when the records were made by different code, unless
    ``allow_mixed_code``, in which case the tables say so. ``compare_paper`` on a dataset the
    paper did not use raises ``ValueError`` saying so.
    """
    rundir = out if isinstance(out, RunDir) else RunDir(out)
    manifest, records, missing = rundir.load()
    if missing and not allow_incomplete:
        raise IncompleteRunError(
            f"{rundir.root}: {len(missing)} of {len(manifest['jobs'])} jobs have no valid record; "
            "resume with the same `run` command, or pass --allow-incomplete")
    mixed = _mixed_code(rundir, records, allow_mixed_code)
    results = records_frame(records)
    comparisons = paper.compare_results(results, manifest.get("protocol_options")) if compare_paper else []
    tables = annotated_tables(records, rundir) if len(results) else []
    md_parts, tex_parts = [], []
    for table, grp, _ in tables:
        if missing:
            table.notes.append(f"INCOMPLETE: {len(missing)} of {len(manifest['jobs'])} jobs missing "
                               "from this run; these values are not final")
        if mixed:
            table.notes.append(mixed)
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
        pngs = _figures(rundir, tables, manifest["emotions"])
        if html:
            from reports.html import write_page

            write_page(rundir.report_path, f"{manifest['dataset']} — {manifest['protocol']}", md_parts, pngs)
    return md


def render_sweep(rundir: RunDir, sweep: dict[str, list]) -> list[Path]:
    """Hyper-parameter curves (Figs. 6-8): one figure per swept parameter of the run in
    ``rundir``; ``sweep`` maps a column label to (parameter, value)."""
    from reports.ranking import summarise

    _, records, _ = rundir.load()
    results = records_frame(records)
    results = results[results["label"].isin(sweep)].copy()
    results["parameter"] = results["label"].map(lambda c: sweep[c][0])
    results["value"] = results["label"].map(lambda c: sweep[c][1])
    paths = []
    for param, grp in results.groupby("parameter", sort=False):
        summary = summarise(grp, ["value"])
        stem = rundir.figures_dir / f"sweep_{param.split()[-1]}"
        paths += figures.plot_hyperparameter_curves(summary, "value", stem, title=f"MPCL: {param}")
    return paths


def render_any(out: RunDir | Path, **options) -> str:
    """Render a plain run, or every part of an experiment (with its sweep curves)."""
    rundir = out if isinstance(out, RunDir) else RunDir(out)
    manifest = rundir.experiment()
    if manifest is None:
        return render_run(rundir, **options)
    parts = []
    for name in manifest["parts"]:
        parts.append(render_run(rundir.part(name), **options))
        if name in manifest.get("sweeps", {}):
            render_sweep(rundir.part(name), manifest["sweeps"][name])
    md = "\n".join(parts)
    rundir.write_table("md", md)
    return md
