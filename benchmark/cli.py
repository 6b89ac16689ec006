"""``python -m benchmark``: run, list, report, check.

    python -m benchmark run [--methods all|a,b] [--dataset synthetic] [--protocol subject-dependent]
                            [--preset smoke|quick|paper] [--seeds 0] [--n-jobs 1] [--out runs/NAME]
                            [--tune N]
    python -m benchmark prepare --dataset NAME --data-root PATH [--n-jobs N]
    python -m benchmark list methods|datasets|protocols
    python -m benchmark report RUN_DIR [--format md,tex] [--allow-incomplete]
    python -m benchmark check RUN_DIR --baseline FILE [--update [--spread RUN ...]]
    python -m benchmark simulate dmer --subjects N --out DIR [--clip-seconds S] [--damage J=KIND]

Bad input (an unknown name, an option a loader does not take, an unreadable file, a damaged
run directory) is reported as one line ``error: ...`` naming the flag or file, exit status 2;
``--debug`` or the environment variable ``BENCHMARK_DEBUG=1`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from .presets import PRESETS


def _parse_kv(items: list[str]) -> dict:
    """``key=value`` pairs; values parsed as JSON where possible (numbers, true, lists)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            from .errors import UsageError

            raise UsageError(f"--dataset-option {item!r}: expected KEY=VALUE, e.g. n_subjects=8")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _int_or_text(text: str):
    """``--folds 3`` -> 3, ``--folds all`` -> "all": typed as a config file would give it, so
    the one declared check (`benchmark.spec.RUN_OPTIONS`) judges both alike."""
    try:
        return int(text)
    except ValueError:
        return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: BENCHMARK_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", parents=[common], help="run (or resume) a benchmark and print the ranked table")
    r.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="run options from a TOML, YAML or JSON file (a run's run.json reproduces "
                        "that run); flags given beside it win")
    r.add_argument("--methods", default=None, help="'all' (default) or comma-separated names, e.g. prior,mpcl[w/o PRD]")
    r.add_argument("--dataset", default=None, help="default: synthetic")
    r.add_argument("--protocol", default=None, help="default: subject-dependent (see `list protocols`)")
    r.add_argument("--group", choices=["trial", "window"], default=None,
                   help="subject-dependent: 'trial' (default) holds out whole trials; 'window' is the "
                        "paper's random window split, which puts windows of one trial on both sides")
    r.add_argument("--n-splits", type=int, default=None, metavar="K",
                   help="folds per subject (subject-dependent, default 5) or in total (kfold, default 10)")
    r.add_argument("--folds", default=None, metavar="N|all", type=_int_or_text,
                   help="subject-dependent: how many of the K folds to run (default 1; 'all' tests "
                        "every trial once)")
    r.add_argument("--repeats", type=int, default=None, metavar="R",
                   help="deal the folds R times with fresh shuffles (subject-dependent, kfold)")
    r.add_argument("--val-size", type=float, default=None, metavar="F",
                   help="fraction of each training part's trials/subjects/samples held out as the "
                        "inner validation split (default 0.1)")
    r.add_argument("--split-seed", type=int, default=None, metavar="S",
                   help="draw every seed's partition from S (the spread over --seeds is then model "
                        "initialisation only); default: each seed draws its own partition")
    r.add_argument("--normalize", choices=["none", "subject"], default=None,
                   help="'subject': standardise each subject's features with its own windows' "
                        "statistics (features only, never labels) before splitting")
    r.add_argument("--preset", default=None, choices=PRESETS, help="default: quick")
    r.add_argument("--seeds", default=None, help="comma-separated base seeds, e.g. 0,1,2 (default 0)")
    r.add_argument("--n-jobs", type=int, default=None,
                   help="worker processes (default and -1: every core this process may use; 1: serial)")
    r.add_argument("--out", type=Path, default=None, help="run directory (default runs/DATASET-PROTOCOL-PRESET)")
    r.add_argument("--data-root", default=None, help="root of a real dataset (or MIXED_EMOTION_DATA)")
    r.add_argument("--dataset-option", action="append", metavar="KEY=VALUE", help="loader option")
    r.add_argument("--time-limit", type=float, default=None, help="seconds per job (timeout = failed job)")
    r.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://HOST:8786")
    r.add_argument("--dask-local", type=int, default=None, metavar="N", help="start a local Dask cluster of N workers")
    r.add_argument("--tune", type=int, default=None, metavar="N",
                   help="tune each method over N configurations of its search space on the inner "
                        "validation split (0: defaults; default: 0, or 20 in the paper preset for "
                        "methods whose paper tuned)")

    r.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="deterministic torch algorithms (matters on GPU; default: on in the paper "
                        "preset, off otherwise)")

    pr = sub.add_parser("prepare", parents=[common], help="extract and cache a real dataset's features")
    pr.add_argument("--dataset", required=True)
    pr.add_argument("--data-root", default=None, help="root of the dataset (or MIXED_EMOTION_DATA)")
    pr.add_argument("--n-jobs", type=int, default=None,
                    help="subjects extracted in parallel (default and -1: every usable core)")
    pr.add_argument("--dataset-option", action="append", metavar="KEY=VALUE", help="loader option")

    ls = sub.add_parser("list", parents=[common], help="list registered methods, datasets or protocols")
    ls.add_argument("what", choices=["methods", "datasets", "protocols"])

    rep = sub.add_parser("report", parents=[common], help="render a run's tables")
    rep.add_argument("run_dir", type=Path)
    rep.add_argument("--format", default="md,tex")
    rep.add_argument("--allow-incomplete", action="store_true")
    rep.add_argument("--allow-mixed-code", action="store_true",
                     help="render records made by different versions of the suite's code (the "
                          "tables say so); refused otherwise")
    rep.add_argument("--figures", action="store_true", help="write figures (PNG + PDF) under RUN_DIR/figures")
    rep.add_argument("--html", action="store_true", help="write a self-contained RUN_DIR/report.html")
    rep.add_argument("--compare-paper", action="store_true",
                     help="put the paper's published values beside ours (dmer and wesad runs only)")

    pg = sub.add_parser("pages", parents=[common],
                        help="render docs/results/, the CLI reference and the README's generated "
                             "blocks from the committed results under results/")
    pg.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the stale pages")
    pg.add_argument("--add", type=Path, metavar="RUN_DIR", help="first copy a finished run's spec and rows "
                                                                 "into results/NAME/")
    pg.add_argument("--name", help="with --add or --verify: the name under results/")
    pg.add_argument("--verify", type=Path, metavar="RUN_DIR",
                    help="compare a fresh run of results/NAME (run --config results/NAME/run.json) "
                         "with the committed rows; exit 1 naming every mean that moved beyond "
                         "the regression gate's floor, and saying so when the run's math kernels "
                         "are not those the committed result names")

    sm = sub.add_parser("simulate", parents=[common],
                        help="write a simulated release of a real dataset, in its real file formats")
    sm.add_argument("dataset", choices=["dmer"])
    sm.add_argument("--subjects", type=int, default=2, metavar="N", help="subjects 1..N (default 2)")
    sm.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="release root: DIR/raw, DIR/aligned, DIR/combined (each a --data-root)")
    sm.add_argument("--clip-seconds", type=float, default=27.0, metavar="S",
                    help="mean clip length (default 27, DMER's; at least 8)")
    sm.add_argument("--seed", type=int, default=0)
    sm.add_argument("--damage", action="append", metavar="J=KIND",
                    help="damage subject J: no-wristband, broken-triggers or bad-panas (repeatable)")
    sm.add_argument("--video-size", default="640x480", metavar="WxH", help="face video size (default 640x480)")
    sm.add_argument("--rest-seconds", type=float, default=180.0, help="resting period (default 180)")
    sm.add_argument("--gap-seconds", type=float, default=30.0,
                    help="questionnaires and rest after each clip (default 30)")
    sm.add_argument("--levels", default="raw,aligned,combined",
                    help="what to write: raw (recordings), aligned (datas.mat, clips, feature files), "
                         "combined (feas.mat)")

    c = sub.add_parser("check", parents=[common], help="compare a run's metrics with a committed baseline")
    c.add_argument("run_dir", type=Path)
    c.add_argument("--baseline", type=Path, required=True)
    c.add_argument("--update", action="store_true",
                   help="write the baseline from this run (tolerances: see --spread)")
    c.add_argument("--spread", nargs="+", type=Path, default=[], metavar="RUN",
                   help="with --update: runs of the same configuration with other --seeds (same "
                        "--split-seed) or under another math kernel (OPENBLAS_CORETYPE=Prescott "
                        "MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default); each cell's "
                        "tolerance is derived from their spread (benchmark/check.py)")
    return p


def _run_options(args) -> dict:
    """The run options given: the config file's, overridden by the flags given beside it."""
    from .spec import PROTOCOL_FLAGS, read_config

    options = read_config(args.config) if args.config else {}
    flags = {k: getattr(args, k) for k in ("methods", "dataset", "data_root", "protocol",
                                            *PROTOCOL_FLAGS, "normalize", "preset", "seeds",
                                            "split_seed", "tune", "deterministic", "out", "n_jobs", "time_limit",
                                            "scheduler", "dask_local")}
    if args.dataset_option:
        flags["dataset_options"] = {**options.get("dataset_options", {}), **_parse_kv(args.dataset_option)}
    options.update({k: v for k, v in flags.items() if v is not None})
    return options


def cmd_run(args) -> int:
    from .api import execute

    outcome = execute(_run_options(args))
    if outcome.cached:
        print(outcome.table)
        print(f"every job already finished and nothing changed: {outcome.rundir.root} (nothing computed)")
        return 0
    print(outcome.table if outcome.table is not None else
          "no table: every job of at least one run failed (details below and in "
          f"{outcome.rundir.results_path})")
    status = max(_summarise_outcome(o) for o in outcome.outcomes)
    print(f"wall time {outcome.wall_seconds:.1f} s")
    return status


def _summarise_outcome(outcome) -> int:
    """Print timings and failures of one run (failures grouped by error); 1 if any job did
    not finish."""
    res = outcome.results
    times = res.groupby("label", sort=False)[["fit_seconds", "predict_seconds"]].sum()
    print("Time per method (s, summed over jobs): " +
          ", ".join(f"{k} {v.fit_seconds + v.predict_seconds:.1f}" for k, v in times.iterrows()))
    print(f"{len(res)} jobs ({outcome.computed} computed, {len(res) - outcome.computed} cached) "
          f"-> {outcome.out}")
    for path in outcome.invalid_records:
        print(f"re-ran job with an invalid record: {path} ({outcome.problems.get(path, 'invalid')})")
    failed = outcome.failed
    if len(failed):
        print(f"\n{len(failed)} of {len(res)} job(s) did not finish, by error:", file=sys.stderr)
        first_line = failed["error"].fillna("").map(lambda e: (e.splitlines() or ["(no message)"])[0][:300])
        for error, grp in failed.groupby(first_line, sort=False):
            labels = ", ".join(dict.fromkeys(grp["label"]))
            print(f"  {len(grp)} job(s) {'/'.join(dict.fromkeys(grp['status']))} [{labels}]: {error}",
                  file=sys.stderr)
        return 1
    return 0


def cmd_prepare(args) -> int:
    """Only the flags the user typed are checked against the loader (a default ``--n-jobs``
    is passed only to a loader that takes it), so an error never names a flag not given."""
    import inspect

    from . import validate
    from .errors import UsageError
    from .prepare import prepare, summary

    options = _parse_kv(args.dataset_option)
    takes = inspect.signature(validate.dataset(args.dataset)).parameters
    if "data_root" not in takes:
        raise UsageError(f"--dataset {args.dataset}: generated in memory, nothing to prepare (a `run` "
                         "makes it in a moment); `prepare` is for real datasets (see `list datasets`)")
    if args.n_jobs is not None and "n_jobs" not in takes:
        raise UsageError(f"--n-jobs: dataset {args.dataset!r} is read in one piece and takes no --n-jobs; "
                         "drop it")
    n_jobs = validate.n_jobs(args.n_jobs) if "n_jobs" in takes else None
    validate.dataset_options(args.dataset, {**options, **({"n_jobs": n_jobs} if n_jobs is not None else {}),
                                            **({"data_root": args.data_root} if args.data_root else {})})
    print(summary(prepare(args.dataset, args.data_root, n_jobs, **options)))
    return 0


def cmd_list(args) -> int:
    if args.what == "methods":
        from methods.registry import broken_plugins, method_classes

        for name, cls in method_classes().items():
            variants = f"  variants: {', '.join(cls.variants)}" if cls.variants else ""
            print(f"{name:14s} {cls.family:18s} {cls.paper}{variants}")
        for name, why in broken_plugins().items():  # listed, so a missing plugin is explained
            print(f"{name:14s} {'BROKEN PLUGIN':18s} {why}")
    elif args.what == "datasets":
        from datasets import available_datasets

        for name, doc in available_datasets().items():
            print(f"{name:18s} {doc}")
    else:
        from protocols import available_protocols
        from protocols.experiments import EXPERIMENTS

        for name, doc in {**available_protocols(), **EXPERIMENTS}.items():
            print(f"{name:20s} {doc}")
    return 0


def _check_paper_comparable(rundir) -> None:
    """``--compare-paper`` on a run the paper has no numbers for: a usage error, before any
    rendering (checked on each part's ``run.json``)."""
    from reports.paper import paper_dataset, paper_protocol

    from .errors import UsageError

    exp = rundir.experiment()
    for part in [rundir.part(name) for name in exp["parts"]] if exp else [rundir]:
        manifest = part.manifest()
        try:
            paper_dataset(manifest.dataset)
            paper_protocol(manifest.protocol, manifest.protocol_options)
        except ValueError as exc:  # paper.py's refusals, each saying why
            raise UsageError(f"--compare-paper: {exc}") from None


def cmd_report(args) -> int:
    from . import validate
    from .reporting import render_any
    from .rundir import RunDir

    formats = validate.formats(args.format)
    rundir = RunDir(args.run_dir)
    if args.compare_paper:
        _check_paper_comparable(rundir)
    with rundir.lock(create=False):
        md = render_any(rundir, formats=formats, allow_incomplete=args.allow_incomplete,
                        with_figures=args.figures, html=args.html, compare_paper=args.compare_paper,
                        allow_mixed_code=args.allow_mixed_code)
    print(md)
    return 0


def cmd_check(args) -> int:
    from .check import compare, derive, kernels_of, load_baseline, run_tables, write_baseline
    from .errors import UsageError
    from .rundir import RunDir

    if args.spread and not args.update:
        raise UsageError("--spread: only with --update (it derives the tolerances of a new baseline)")
    baseline = None if args.update else load_baseline(args.baseline)
    runs = []
    for run_dir in [args.run_dir, *args.spread]:
        rundir = RunDir(run_dir)
        with rundir.lock(shared=True, create=False):
            _, records, missing = rundir.load()
        if missing:
            print(f"error: {run_dir}: {len(missing)} jobs missing or invalid (named above); re-run the "
                  "same `run` command to complete it, then check", file=sys.stderr)
            return 2
        runs.append((run_dir, records))
    (_, records), spread = runs[0], runs[1:]
    if args.update:
        payload = derive(args.run_dir, records, spread)
        write_baseline(payload, args.baseline)
        print(payload["derivation"])
        print(f"baseline written: {args.baseline}")
        return 0
    regressions, notes = compare(run_tables(records), baseline, kernels_of(records))
    for line in notes:
        print(line)
    for line in regressions:
        print(line, file=sys.stderr)
    print(f"check: {len(regressions)} regression(s) against {args.baseline}")
    return 1 if regressions else 0


def cmd_simulate(args) -> int:
    from datasets.dmer_release import DAMAGES, write_release

    from .errors import UsageError

    damage = {}
    for item in args.damage or []:
        j, _, kind = item.partition("=")
        if not j.isdigit() or kind not in DAMAGES:
            raise UsageError(f"--damage {item!r}: expected SUBJECT=KIND with KIND one of {', '.join(DAMAGES)}")
        damage[int(j)] = kind
    try:
        w, h = (int(v) for v in args.video_size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--video-size {args.video_size!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if args.subjects < 1 or w < 16 or h < 16:
        raise UsageError("--subjects must be >= 1 and --video-size at least 16x16")
    if args.rest_seconds < 1 or args.gap_seconds < 1:
        raise UsageError("--rest-seconds and --gap-seconds must be >= 1")
    try:
        truth = write_release(args.out, args.subjects, args.clip_seconds, args.seed, damage, (w, h),
                              args.rest_seconds, args.gap_seconds, tuple(args.levels.split(",")))
    except ValueError as exc:  # the generator's checks of clip length, damage and levels
        raise UsageError(f"simulate: {exc}") from None
    print(f"simulated DMER release: {truth.n_subjects} subjects, clips ~{truth.clip_seconds:g} s, "
          f"seed {truth.seed} -> {args.out}")
    for level, source in (("raw", "raw"), ("aligned", "signals"), ("aligned", "features"), ("combined", "features")):
        if (args.out / level).is_dir():
            print(f"  --dataset dmer --data-root {args.out / level} --dataset-option source={source}")
    return 0


def cmd_pages(args) -> int:
    from . import pages, validate
    from .errors import UsageError

    if args.verify:
        if not args.name:
            raise UsageError("--verify: give --name NAME (the committed result under results/)")
        validate.out_name(args.name, "--name")
        if not (pages.RESULTS / args.name / "results.csv").exists():
            raise UsageError(f"--name {args.name!r}: no committed result results/{args.name}/")
        moved, note = pages.verify(args.verify, args.name)
        for line in moved + ([note] if note else []):
            print(line, file=sys.stderr)
        print(f"verify: {len(moved)} difference(s) between {args.verify} and results/{args.name}")
        return 1 if moved else 0
    if args.add:
        if not args.name:
            raise UsageError("--add: give --name NAME (the folder under results/)")
        validate.out_name(args.name, "--name")  # a folder of results/, never outside it
        print(f"committed-results copy written: {pages.add(args.add, args.name)}")
    stale = pages.write(build_parser(), check=args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'written'}: {path.relative_to(pages.ROOT)}")
    if args.check and stale:
        print("pages out of date with results/: run `python -m benchmark pages` and commit them",
              file=sys.stderr)
        return 1
    return 0


def _one_line(exc: BaseException) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _exit_on_sigterm(signum, frame) -> None:
    """SIGTERM (a scheduler's time limit, ``kill``) unwinds like Ctrl-C: worker pools are taken
    down and the run directory's lock released; finished jobs' records are already on disk."""
    print("terminated: finished jobs are kept; the same command resumes the rest", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("BENCHMARK_DEBUG", "") not in ("", "0")
    commands = {"run": cmd_run, "prepare": cmd_prepare, "list": cmd_list, "report": cmd_report,
                "check": cmd_check, "pages": cmd_pages, "simulate": cmd_simulate}
    try:
        return commands[args.command](args)
    except Exception as exc:
        from .errors import USER_ERRORS

        if debug or not isinstance(exc, USER_ERRORS):  # one family: benchmark.errors
            raise  # a bug, or asked for: keep the traceback
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
