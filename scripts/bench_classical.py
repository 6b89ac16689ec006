"""Fit time of each classical LDL method on the default synthetic set.

Prints, for ``aa-knn``, ``pt-svm``, ``sa-cpnn``, ``ldl-lrr``, ``tlr-dl`` and ``cad`` (quick
preset, one BLAS/torch thread as the runner uses), the fit and predict seconds on one
subject-dependent fold (~180 training windows) and on one pooled LOSO fold (~3,500), with the
number of training samples each method actually used where it subsamples.

    .venv/bin/python scripts/bench_classical.py [--preset quick] [--fold 0] [--methods a,b]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmark.presets import dataset_options  # noqa: E402
from benchmark.registry import MethodSpec  # noqa: E402
from datasets import load_dataset  # noqa: E402
from protocols import get_splitter  # noqa: E402

METHODS = "aa-knn,pt-svm,sa-cpnn,ldl-lrr,tlr-dl,cad"


def time_fit(name: str, preset: str, train, val, test) -> tuple[float, float, int]:
    """(fit seconds, predict seconds, training samples used) of one method on one fold."""
    method = MethodSpec(name).build(preset, random_state=0)
    t0 = time.perf_counter()
    method.fit(train, val)
    t1 = time.perf_counter()
    method.predict(test)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, getattr(method, "n_train_used_", len(train))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--methods", default=METHODS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = load_dataset("synthetic", **dataset_options(args.preset, "synthetic"))
    print(f"synthetic: {len(data)} windows, {data.concat_features().shape[1]} features, "
          f"preset {args.preset}, one thread")
    print(f"{'protocol':<18} {'method':<8} {'n_train':>7} {'used':>6} {'fit s':>8} {'predict s':>9}")
    for protocol in ("subject-dependent", "loso"):
        fold = get_splitter(protocol)(data.meta)[args.fold]
        train, val, test = (data.subset(i) for i in (fold.train, fold.val, fold.test))
        for name in args.methods.split(","):
            with threadpool_limits(1):
                fit_s, pred_s, used = time_fit(name, args.preset, train, val, test)
            print(f"{protocol:<18} {name:<8} {len(train):>7} {used:>6} {fit_s:>8.2f} {pred_s:>9.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
