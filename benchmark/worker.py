"""The worker side of a run: fit, predict, check and score one job.

`execute` is what runs in a worker process (joblib's loky pool) or on a Dask worker; the
local and distributed backends import it from here, and the orchestration in
`benchmark.runner` never needs to be imported by a worker. Each job is seeded from its own
key and limited to ``threads`` BLAS/torch threads, so metrics do not depend on the backend or on
how many jobs run at once. Workers return (record, prediction); only the parent process writes
to the run directory.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import threading
import time
import traceback

import numpy as np
from threadpoolctl import threadpool_limits

from datasets.base import FeatureSet
from methods.base import predict_view
from methods.contract import PredictionError, check_prediction
from protocols import Fold

from .errors import JobTimeout
from .jobs import Job
from .lifetime import watch_parent
from .provenance import provenance
from .records import scores
from .tuning import fit_job


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the job after ``seconds`` (SIGALRM; only in a process's main thread — in a
    thread, e.g. a Dask worker, the limit is checked after the job instead)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise JobTimeout(f"job exceeded its time limit of {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _deterministic(on: bool) -> None:
    """Deterministic torch algorithms for this job (GPU: cuBLAS workspace, no cuDNN autotuning;
    an operation without a deterministic implementation then fails the job, loudly, rather than
    giving run-to-run differences)."""
    try:
        import torch
    except ImportError:
        return
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.benchmark = not on and torch.backends.cudnn.benchmark


def _limit_torch_threads(n: int) -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def held_out(val: FeatureSet | None) -> dict:
    """The record fields describing the fold's validation part as the protocol carved it:
    ``n_val`` windows, ``n_val_trials`` (distinct subject-trial pairs) and ``n_val_subjects``
    (all 0 without one), whether or not the final model then trained on it (``val_use``)."""
    if val is None or not len(val):
        return {"n_val": 0, "n_val_trials": 0, "n_val_subjects": 0}
    return {"n_val": len(val),
            "n_val_trials": len(val.meta[["subject", "trial"]].drop_duplicates()),
            "n_val_subjects": int(val.meta["subject"].nunique())}


def execute(job: Job, data: FeatureSet, fold: Fold, time_limit: float | None = None,
            threads: int = 1, prov: dict | None = None,
            code: str | None = None) -> tuple[dict, np.ndarray | None]:
    """Fit and predict one job, check and score the prediction; return (record, prediction).

    Runs in a worker (process or Dask worker); the caller writes the record, so workers need
    no access to the run directory. ``prov`` and ``code`` (the suite's code fingerprint) are
    computed once by the caller and stamped on the record.
    """
    started = time.time()
    label, family, oracle = job.column if job.column[0] else (job.label, job.method.cls.family,
                                                                job.method.cls.oracle)
    rec = {"key": job.key, "config": job.config(), "label": label,
           "family": family, "oracle": oracle,
           "block_kind": job.block_kind, "status": "failed", "error": "",
           "started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
           "provenance": prov or provenance(), "code": code or ""}
    pred = None
    try:
        _limit_torch_threads(threads)
        _deterministic(job.deterministic)
        with threadpool_limits(threads):
            d = data
            for m in job.drop:
                d = d.without(m)
            if job.drop and not job.method.cls.modality_subsets:
                raise ValueError(f"{job.method.name} does not run on modality subsets")
            train, test = d.subset(fold.train), d.subset(fold.test)
            val = d.subset(fold.val) if len(fold.val) else None
            if getattr(job.method.cls, "trains_on", "fold") == "other-subjects":
                # a reference fitted on every window of the subjects not tested here
                others = ~d.meta["subject"].isin(test.meta["subject"].unique()).to_numpy()
                train, val = d.subset(np.flatnonzero(others)), None
            rec.update(n_train=len(train), n_test=len(test),
                       n_test_trials=int(test.meta["trial"].nunique()), **held_out(val))
            with _time_limit(time_limit):  # tuning counts against the job's time limit
                t0 = time.perf_counter()
                # never sees the test part; merges val into train for a method that ignores it
                method, fit_seconds, tuning, fitted_on = fit_job(job, train, val)
                t1 = time.perf_counter()
                # features and the declared meta (PREDICT_META) only; every meta for an oracle
                raw = method.predict(predict_view(job.method.cls, test))
                t2 = time.perf_counter()
            if tuning is not None:
                rec["tuning"] = tuning
            rec.update(fitted_on)  # n_train: what the final model trained on; val_use: how
            rec.update(fit_seconds=fit_seconds, predict_seconds=t2 - t1, n_parameters=method.n_parameters())
            if time_limit and t2 - t0 > time_limit:
                raise JobTimeout(f"job took {t2 - t0:.1f} s, over its limit of {time_limit:g} s")
            pred = check_prediction(raw, len(test), test.n_emotions)
            rec.update(scores(test.labels, pred, test.meta["trial"].to_numpy()))
            rec["status"] = "ok"
    except JobTimeout as exc:
        rec.update(status="timeout", error=str(exc))
    except PredictionError as exc:
        rec.update(status="invalid", error=str(exc))
    except Exception as exc:  # isolate: one broken method must not stop the run
        rec.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=8))
    rec["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    return rec, pred


_WORKER_DATA: dict = {}


def init_worker(data: FeatureSet, parent_pid: int | None = None) -> None:
    """Worker initialiser: the dataset arrives once per worker process, not once per job, and
    the worker exits when ``parent_pid`` (the run's process) is gone, however that ended
    (:mod:`benchmark.lifetime`: a SIGKILLed run used to leave its workers computing)."""
    if parent_pid is not None:
        watch_parent(parent_pid)
    _WORKER_DATA["data"] = data


def execute_in_worker(job: Job, fold: Fold, **args) -> tuple[dict, np.ndarray | None]:
    return execute(job, _WORKER_DATA["data"], fold, **args)
