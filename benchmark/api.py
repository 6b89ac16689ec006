"""The Python API: ``benchmark.run(...)`` and ``benchmark.load(run_dir)``.

``run`` takes the command line's options as keywords (``methods``, ``dataset``, ``protocol``,
``preset``, ``seeds``, ``out``, ``group``, ``n_splits``, ``folds``, ``repeats``, ``val_size``,
``normalize``, ``split_seed``, ``tune``, ``data_root``, ``dataset_options``, ``n_jobs``, ...; see
`benchmark.spec`), builds the same validated `benchmark.spec.RunSpec` the command
line builds, runs or resumes it, writes the same run directory, and returns `Results`.
``methods`` may list registered names, ``name[key=value]`` specs, and method classes or
instances that no registry knows (a `methods.base.BaseMethod` subclass; named after its
class, its parameters and source in the job key):

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


@dataclass
class Outcome:
    """What one ``run`` did: the finished table (Markdown; None when every job of a part
    failed), the runner's outcomes (none when nothing had to be computed), whether the finished
    table was reused as is (the warm re-run fast path), and the wall time."""

    rundir: object  # benchmark.rundir.RunDir
    table: str | None
    outcomes: list = field(default_factory=list)
    cached: bool = False
    wall_seconds: float = 0.0


def execute(options: dict) -> Outcome:
    """Run (or resume) the run the options describe (named as the command line's flags; the
    config file's options merged in by the caller) and render its tables: the one
    orchestration behind ``python -m benchmark run`` and `run`.

    When nothing can have changed (`benchmark.fastpath.cached_table`: the same request,
    code and method sources, every record finished and verified), the finished table is returned
    without planning a job. Otherwise the spec is built and validated before any directory is
    made, every job not yet recorded runs, and the tables are rendered unless every job of a
    part failed.
    """
    import time

    from .experiments import run_any
    from .fastpath import cached_table
    from .reporting import render_any
    from .rundir import RunDir
    from .spec import build, request

    options = {k: v for k, v in options.items() if v is not None}
    rundir = (RunDir(options["out"]) if options.get("out") else
              RunDir.default(options.get("dataset", "synthetic"),
                             options.get("protocol", "subject-dependent"), options.get("preset", "quick")))
    if rundir.manifest_path.exists():
        with rundir.lock():  # read a finished state, not one another run is writing
            table = cached_table(rundir, request(options))
        if table is not None:
            return Outcome(rundir, table, cached=True)
    spec = build(**{**options, "out": rundir.root})
    t0 = time.perf_counter()
    # One lock over running and rendering: run.json, results.csv and the table all come from
    # this call even when another run on the same output directory is waiting.
    with rundir.lock():
        outcomes = run_any(spec, rundir, methods_given=options.get("methods", "all") != "all")
        table = None
        if all(o.results["status"].eq("ok").any() for o in outcomes):
            # a run may reuse records of unchanged jobs made by older code: the table says so
            table = render_any(rundir, allow_mixed_code=True)
    wall = time.perf_counter() - t0
    with rundir.lock():  # the measured time, for the results pages (benchmark/pages.py)
        rundir.note_wall_time(wall, spec.n_jobs)
    return Outcome(rundir, table, outcomes, False, wall)


def run(methods="all", **options) -> Results:
    """Run (or resume) a benchmark; keywords as the command line's flags (module docstring).
    The same orchestration as the command line (`execute`): a warm re-run of a finished,
    unchanged run reads it back without planning a job."""
    outcome = execute({"methods": methods, **options})
    return load(outcome.rundir, allow_mixed_code=True)


def load(out, allow_incomplete: bool = False, allow_mixed_code: bool = False) -> Results:
    """The `Results` of a finished run directory (an experiment's parts together), read
    by `benchmark.results.open_run`."""
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
