"""The Python API: ``benchmark.run(...)`` and ``benchmark.load(run_dir)``.

``run`` takes the command line's options as keywords (``methods``, ``dataset``, ``protocol``,
``preset``, ``seeds``, ``out``, ``group``, ``n_splits``, ``folds``, ``repeats``, ``val_size``,
``normalize``, ``split_seed``, ``tune``, ``data_root``, ``dataset_options``, ``n_jobs``, ...; see
:mod:`benchmark.spec`), builds the same validated :class:`benchmark.spec.RunSpec` the command
line builds, runs or resumes it, writes the same run directory, and returns :class:`Results`.
``methods`` may list registered names, ``name[key=value]`` specs, and method classes or
instances that no registry knows (a :class:`methods.base.BaseMethod` subclass; named after its
class, its parameters and source in the job key)::

    import benchmark
    res = benchmark.run(methods=["prior", "aa-knn", MyMethod], preset="smoke", out="runs/try")
    res.frame        # one row per job: the rows of results.csv
    res.tables[0]    # the ranked table (reports.tables.Table): .means, .ranks, .summary
    res.stats        # {table title: {metric: MetricTest}}
    benchmark.load("runs/try").frame   # the same rows, from disk
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class Results:
    """What a run produced: its rows, its ranked tables and their statistics."""

    out: Path
    frame: pd.DataFrame
    tables: list = field(default_factory=list)  # reports.tables.Table, one per dataset/protocol (and part)
    stats: dict = field(default_factory=dict)  # table title -> {metric: reports.stats.MetricTest}
    markdown: str = ""

    def __repr__(self) -> str:
        titles = "; ".join(t.title for t in self.tables) or "no table"
        return f"Results({str(self.out)!r}: {len(self.frame)} jobs; {titles})"


def run(methods="all", **options) -> Results:
    """Run (or resume) a benchmark; keywords as the command line's flags (module docstring)."""
    from .experiments import run_any
    from .reporting import render_any
    from .rundir import RunDir
    from .spec import build

    spec = build(methods=methods, **options)
    rundir = RunDir(spec.resolved_out())
    with rundir.lock():
        run_any(spec, rundir, methods_given=methods != "all")
        render_any(rundir, allow_mixed_code=True)
    return load(rundir, allow_mixed_code=True)


def load(out, allow_incomplete: bool = False, allow_mixed_code: bool = False) -> Results:
    """The :class:`Results` of a finished run directory (an experiment's parts together), read
    by :func:`benchmark.results.open_run`."""
    from .reporting import annotated_tables
    from .results import open_run

    run_ = open_run(out, allow_incomplete=allow_incomplete, allow_mixed_code=allow_mixed_code)
    frames, tables, tests, md = [], [], {}, []
    for part in run_.parts:
        frames.append(part.frame)
        for table, _, table_tests in annotated_tables(part) if part.records else []:
            tables.append(table)
            tests[table.title] = table_tests
        if part.rundir.table_path("md").exists():
            md.append(part.rundir.table_path("md").read_text())
    return Results(run_.rundir.root, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
                   tables, tests, "\n".join(md))
