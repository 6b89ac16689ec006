"""``python -m benchmark``: run, list, report, check.

    python -m benchmark run [--methods all|a,b] [--dataset synthetic] [--protocol subject-dependent]
                            [--preset smoke|quick|paper] [--seeds 0] [--n-jobs 1] [--out runs/NAME]
    python -m benchmark prepare --dataset NAME --data-root PATH [--n-jobs N]
    python -m benchmark list methods|datasets|protocols
    python -m benchmark report RUN_DIR [--format md,tex] [--allow-incomplete]
    python -m benchmark check RUN_DIR --baseline FILE [--update]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from .presets import PRESETS


def _parse_kv(items: list[str]) -> dict:
    """``key=value`` pairs; values parsed as JSON where possible (numbers, true, lists)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"expected key=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run (or resume) a benchmark and print the ranked table")
    r.add_argument("--methods", default="all", help="'all' or comma-separated names, e.g. prior,mpcl[w/o PRD]")
    r.add_argument("--dataset", default="synthetic")
    r.add_argument("--protocol", default="subject-dependent")
    r.add_argument("--group", choices=["window", "trial"], default=None,
                   help="subject-dependent only: 'trial' keeps whole trials on one side")
    r.add_argument("--preset", default="quick", choices=PRESETS)
    r.add_argument("--seeds", default="0", help="comma-separated base seeds, e.g. 0,1,2")
    r.add_argument("--n-jobs", type=int, default=1)
    r.add_argument("--out", type=Path, default=None, help="run directory (default runs/DATASET-PROTOCOL-PRESET)")
    r.add_argument("--data-root", default=None, help="root of a real dataset (or MIXED_EMOTION_DATA)")
    r.add_argument("--dataset-option", action="append", metavar="KEY=VALUE", help="loader option")
    r.add_argument("--time-limit", type=float, default=None, help="seconds per job (timeout = failed job)")
    r.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://HOST:8786")
    r.add_argument("--dask-local", type=int, default=0, metavar="N", help="start a local Dask cluster of N workers")

    pr = sub.add_parser("prepare", help="extract and cache a real dataset's features")
    pr.add_argument("--dataset", required=True)
    pr.add_argument("--data-root", default=None, help="root of the dataset (or MIXED_EMOTION_DATA)")
    pr.add_argument("--n-jobs", type=int, default=1, help="subjects extracted in parallel")
    pr.add_argument("--dataset-option", action="append", metavar="KEY=VALUE", help="loader option")

    ls = sub.add_parser("list", help="list registered methods, datasets or protocols")
    ls.add_argument("what", choices=["methods", "datasets", "protocols"])

    rep = sub.add_parser("report", help="render a run's tables")
    rep.add_argument("run_dir", type=Path)
    rep.add_argument("--format", default="md,tex")
    rep.add_argument("--allow-incomplete", action="store_true")
    rep.add_argument("--figures", action="store_true", help="write figures (PNG + PDF) under RUN_DIR/figures")
    rep.add_argument("--html", action="store_true", help="write a self-contained RUN_DIR/report.html")
    rep.add_argument("--compare-paper", action="store_true",
                     help="put the paper's published values beside ours (dmer and wesad runs only)")

    c = sub.add_parser("check", help="compare a run's metrics with a committed baseline")
    c.add_argument("run_dir", type=Path)
    c.add_argument("--baseline", type=Path, required=True)
    c.add_argument("--update", action="store_true", help="overwrite the baseline with this run")
    return p


def _out_dir(args) -> Path:
    from .rundir import default_out

    return args.out or default_out(args.dataset, args.protocol, args.preset)


def cmd_run(args) -> int:
    from .fastpath import cached_table

    dataset_options = _parse_kv(args.dataset_option)
    if args.data_root:
        dataset_options["data_root"] = args.data_root
    protocol_options = {"group": args.group} if args.group else {}
    request = {"methods": args.methods, "dataset": args.dataset, "dataset_options": dataset_options,
               "protocol": args.protocol, "protocol_options": protocol_options,
               "preset": args.preset, "seeds": args.seeds}
    table = cached_table(_out_dir(args), request)
    if table is not None:
        print(table)
        print(f"every job already finished and nothing changed: {_out_dir(args)} (nothing computed)")
        return 0

    from protocols.experiments import EXPERIMENTS, run_experiment

    from .registry import parse_methods
    from .reporting import render_any, render_run
    from .runner import RunConfig, run

    cfg = RunConfig(methods=parse_methods(args.methods), dataset=args.dataset, protocol=args.protocol,
                    preset=args.preset, seeds=tuple(int(s) for s in args.seeds.split(",")),
                    n_jobs=args.n_jobs, out=args.out, dataset_options=dataset_options,
                    protocol_options=protocol_options, time_limit=args.time_limit,
                    scheduler=args.scheduler, dask_local=args.dask_local, request=request)
    t0 = time.perf_counter()
    if args.protocol in EXPERIMENTS:
        explicit = None if args.methods == "all" else cfg.methods
        outcomes = [o for _, o in run_experiment(args.protocol, cfg, explicit)]
        print(render_any(cfg.resolved_out()))
    else:
        outcomes = [run(cfg)]
        print(render_run(outcomes[0].out))
    wall = time.perf_counter() - t0
    status = max(_summarise_outcome(o) for o in outcomes)
    print(f"wall time {wall:.1f} s")
    return status


def _summarise_outcome(outcome) -> int:
    """Print timings and failures of one run; 1 if any job did not finish."""
    res = outcome.results
    times = res.groupby("label", sort=False)[["fit_seconds", "predict_seconds"]].sum()
    print("Time per method (s, summed over jobs): " +
          ", ".join(f"{k} {v.fit_seconds + v.predict_seconds:.1f}" for k, v in times.iterrows()))
    print(f"{len(res)} jobs ({outcome.computed} computed, {len(res) - outcome.computed} cached) "
          f"-> {outcome.out}")
    for path in outcome.invalid_records:
        print(f"re-ran job with an invalid record: {path}")
    if len(outcome.failed):
        print(f"\n{len(outcome.failed)} job(s) did not finish:", file=sys.stderr)
        for (label, status), grp in outcome.failed.groupby(["label", "status"], sort=False):
            print(f"  {label}: {len(grp)} job(s) {status}, e.g. fold {grp['fold'].iloc[0]}: "
                  f"{grp['error'].iloc[0][:300]}", file=sys.stderr)
        return 1
    return 0


def cmd_prepare(args) -> int:
    from .prepare import prepare, summary

    print(summary(prepare(args.dataset, args.data_root, args.n_jobs, **_parse_kv(args.dataset_option))))
    return 0


def cmd_list(args) -> int:
    if args.what == "methods":
        from .registry import method_classes

        for name, cls in method_classes().items():
            variants = f"  variants: {', '.join(cls.variants)}" if cls.variants else ""
            print(f"{name:14s} {cls.family:18s} {cls.paper}{variants}")
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


def cmd_report(args) -> int:
    from .reporting import render_any

    print(render_any(args.run_dir, formats=tuple(args.format.split(",")),
                     allow_incomplete=args.allow_incomplete, with_figures=args.figures,
                     html=args.html, compare_paper=args.compare_paper))
    return 0


def cmd_check(args) -> int:
    from .check import compare, write_baseline
    from .reporting import label_means
    from .runner import load_run
    from .store import records_frame

    _, records, missing = load_run(args.run_dir)
    if missing:
        print(f"{args.run_dir}: {len(missing)} jobs missing; cannot check", file=sys.stderr)
        return 2
    current = label_means(records_frame(records))
    if args.update:
        write_baseline(current, args.baseline)
        print(f"baseline written: {args.baseline}")
        return 0
    baseline = json.loads(args.baseline.read_text())
    regressions, notes = compare(current, baseline)
    for line in notes:
        print(line)
    for line in regressions:
        print(line, file=sys.stderr)
    print(f"check: {len(regressions)} regression(s) against {args.baseline}")
    return 1 if regressions else 0


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        commands = {"run": cmd_run, "prepare": cmd_prepare, "list": cmd_list, "report": cmd_report,
                    "check": cmd_check}
        return commands[args.command](args)
    except KeyError as exc:  # unknown method / dataset / protocol: the message lists valid names
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    except Exception as exc:
        from datasets.base import DataError
        from .reporting import IncompleteRunError

        if isinstance(exc, (DataError, IncompleteRunError, FileNotFoundError, ValueError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
