"""Profile one fold of each deep method at a preset: CPU seconds per fit and where they go.

    PYTHONPATH=. BENCHMARK_QUIET=1 python tests/perf/profile_fold.py [--preset quick]
        [--methods maet,carat] [--protocol subject-dependent] [--top 15] [--json runs/prof.json]

Not a test (absolute seconds are not asserted anywhere): the tool behind the before/after
profiles in docs/speed.md. Everything runs on one thread, as a job does in a run, and is timed
in process CPU time, so other load on a shared machine barely moves the figures. ``--top``
prints each fit's cProfile sorted by own time, which is where per-step overhead that is not
learning (conversions, Python loops, validation) shows up.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time


def main(argv: list[str] | None = None) -> int:
    import torch
    from threadpoolctl import threadpool_limits

    from datasets import load_dataset
    from methods.registry import MethodSpec, method_classes
    from methods.training import TorchMethod
    from protocols import get_splitter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--methods", default="", help="comma-separated; 'all' adds the classical methods")
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--protocol", default="subject-dependent")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--folds", type=int, default=1, help="profile the first N folds (summed)")
    ap.add_argument("--data-option", action="append", default=[], metavar="KEY=INT",
                    help="synthetic dataset option, e.g. n_subjects=10 (default: the preset's)")
    ap.add_argument("--top", type=int, default=0, help="print the N most costly functions (own time)")
    ap.add_argument("--json", default="")
    ap.add_argument("--cold", action="store_true",
                    help="time the first fit of each method (imports, first-call set-up) instead of a second, warm one")
    args = ap.parse_args(argv)
    deep = [n for n, c in method_classes().items() if issubclass(c, TorchMethod)]
    names = (deep if not args.methods else list(method_classes()) if args.methods == "all"
             else args.methods.split(","))
    torch.set_num_threads(1)
    from benchmark.presets import dataset_options

    options = {**dataset_options(args.preset, args.dataset),
               **{k: int(v) for k, v in (o.split("=") for o in args.data_option)}}
    if args.data_root:
        options["data_root"] = args.data_root
    data = load_dataset(args.dataset, **options)
    every = {"folds": None} if args.protocol == "subject-dependent" else {}  # every trial tested
    folds = get_splitter(args.protocol)(data.meta, **every)[args.fold:args.fold + args.folds]
    parts = [tuple(data.subset(i) for i in (f.train, f.val, f.test)) for f in folds]
    out = {}
    with threadpool_limits(1):
        for name in names:
            if not args.cold:  # a worker runs many jobs: one-off costs are not per-fit costs
                train, val, _ = parts[0]
                MethodSpec(name).build(args.preset, random_state=0).fit(train, val if len(val) else None)
            prof = cProfile.Profile() if args.top else None
            fit_s = predict_s = 0.0
            epochs = 0
            for train, val, test in parts:
                method = MethodSpec(name).build(args.preset, random_state=0)
                t0 = time.process_time()
                if prof:
                    prof.enable()
                method.fit(train, val if len(val) else None)
                if prof:
                    prof.disable()
                t1 = time.process_time()
                method.predict(test)
                fit_s, predict_s = fit_s + t1 - t0, predict_s + time.process_time() - t1
                epochs += len(getattr(method, "history_", ()))
            out[name] = {"fit_cpu_s": round(fit_s, 3), "predict_cpu_s": round(predict_s, 3),
                         "epochs": epochs, "per_epoch_s": round(fit_s / max(epochs, 1), 4),
                         "n_train": len(parts[0][0]), "folds": len(parts)}
            print(f"{name:12s} fit {fit_s:7.2f} s CPU  epochs {epochs:4d}  "
                  f"{fit_s / max(epochs, 1) * 1000:7.1f} ms/epoch  predict {predict_s:.3f} s  "
                  f"(n_train {len(parts[0][0])}, {len(parts)} folds)", flush=True)
            if prof:
                s = io.StringIO()
                pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(args.top)
                print("\n".join(s.getvalue().splitlines()[6:]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
