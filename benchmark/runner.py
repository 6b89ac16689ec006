"""The runner: plan jobs (methods × variants × folds × seeds), run the ones not yet recorded,
and write records and ``results.csv``.

Jobs run in worker processes through joblib (``n_jobs``) or on a Dask cluster
(``scheduler``); the same `benchmark.worker.execute` runs in every case, each job seeded
from its own key and limited to ``threads_per_job`` BLAS/torch threads, so metrics do not depend
on the backend or on how many jobs run at once.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor

from datasets.base import FeatureSet
from datasets.normalize import normalize_features
from core.progress import progress
from protocols import (RUNNER_OPTIONS, Fold, check_data, check_folds, get_protocol, get_splitter,
                       resolve_options)

from .jobs import Job, fingerprint, fold_hash, source_hash
from .manifest import Manifest, items_text, request_hash, without_paths
from .prepare import extracts_per_subject, label_items, open_dataset, prepare as prepare_dataset
from .presets import dataset_options
from .provenance import provenance
from .records import records_frame
from .rundir import RunDir
from .spec import RunSpec
from .tuning import budget
from .worker import execute, execute_in_worker, init_worker

log = logging.getLogger(__name__)


def plan(cfg: RunSpec, data: FeatureSet, folds: dict[int, list[Fold]], data_options: dict,
         protocol_options: dict) -> list[tuple[Job, Fold]]:
    """Every job of the run with its fold, in a stable order (method, drop, seed, fold).
    ``folds`` maps each split seed to its partition."""
    fp = fingerprint(data)
    kind = get_protocol(cfg.protocol).block_kind
    out = []
    for spec in cfg.methods:
        for drop in cfg.drops:
            for seed in cfg.seeds:
                split_seed = cfg.split_seed_of(seed)
                for f in folds[split_seed]:
                    job = Job(method=spec, dataset=cfg.dataset, dataset_options=without_paths(data_options),
                              data_fingerprint=fp, protocol=cfg.protocol,
                              protocol_options=protocol_options, fold=f.index, block=f.block,
                              preset=cfg.preset, seed=seed, split_seed=split_seed,
                              fold_hash=fold_hash(f), block_kind=kind, source=source_hash(spec.cls),
                              deterministic=cfg.deterministic_jobs,
                              drop=tuple(drop),
                              tune=budget(spec.cls, cfg.preset, cfg.tune))
                    job = replace(job, column=(job.label, spec.cls.family, spec.cls.oracle))
                    out.append((job, f))
    return out


@dataclass
class RunOutcome:
    rundir: RunDir
    records: list[dict]
    results: pd.DataFrame
    computed: int
    invalid_records: list[str]
    problems: dict[str, str] = field(default_factory=dict)  # invalid record path -> why

    @property
    def out(self) -> Path:
        return self.rundir.root

    @property
    def failed(self) -> pd.DataFrame:
        return self.results[self.results["status"] != "ok"]


# Estimated CPU seconds of one job of a method that declares no ``relative_cost``, per
# DEFAULT_TRAIN training windows: a classical method (fit in a fraction of a second) or a deep one.
CLASSICAL_COST, DEEP_COST, DEFAULT_TRAIN = 0.1, 1.0, 200


def estimated_cost(job: Job, fold: Fold) -> float:
    """Relative cost of a job, for longest-first scheduling: the method's declared
    ``relative_cost`` (CPU seconds of one quick-preset job on ~200 training windows, measured
    and kept on the class: ``TorchMethod.relative_cost``), scaled by the fold's training size
    (a deep method's steps per epoch grow with it) and by the configurations a tuned job tries.
    Only the order of jobs depends on it, never a result."""
    from methods.training import TorchMethod

    cls = job.method.cls
    base, size = getattr(cls, "relative_cost", None), max(len(fold.train), 1) / DEFAULT_TRAIN
    if base is None and not issubclass(cls, TorchMethod):
        # An undeclared classical fit (kernel SVM, n x n solves) grows faster than linearly:
        # PT-SVM's LOSO fold on wesad-e4 (~3,300 windows) costs ~100x its ~200-window fold.
        return CLASSICAL_COST * size ** 1.5 * (1 + (job.tune or 0))
    return float(DEEP_COST if base is None else base) * size * (1 + (job.tune or 0))


def longest_first(todo: list[tuple[Job, Fold]]) -> list[tuple[Job, Fold]]:
    """``todo`` by decreasing estimated cost (stable: ties keep the plan's order). With two
    workers the long deep jobs then run first and the last jobs to start are the cheapest, so
    neither worker idles long at the end while the other finishes a HeLo fit; in plan order
    (method by method) the run ended with whichever method came last."""
    return sorted(todo, key=lambda item: -estimated_cost(*item))


def _results(cfg: RunSpec, todo: list[tuple[Job, Fold]], data: FeatureSet):
    """(record, prediction) of each job as it finishes, from the configured backend."""
    from .fastpath import code_fingerprint

    args = dict(time_limit=cfg.time_limit, threads=cfg.threads_per_job, prov=provenance(),
                code=code_fingerprint())
    if cfg.scheduler or cfg.dask_local:
        from .distributed import run_on_dask

        yield from run_on_dask(longest_first(todo), data, args, cfg.scheduler, cfg.dask_local)
    elif cfg.n_jobs == 1:
        for job, fold in todo:
            yield execute(job, data, fold, **args)
    else:
        # joblib's loky process pool with an initialiser: each worker receives the dataset
        # once; jobs then carry only their config and fold indices.
        pool = ProcessPoolExecutor(max_workers=cfg.n_jobs, initializer=init_worker,
                                   initargs=(data, os.getpid()))
        try:
            futures = [pool.submit(execute_in_worker, job, fold, **args)
                       for job, fold in longest_first(todo)]
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM from a scheduler, a failed write): kill the workers
            # now instead of leaving them to finish jobs whose records nobody will write.
            # A worker still starting up is not reached by kill_workers, and the interpreter
            # would wait for it at exit, so every child process still alive is terminated too.
            pool.shutdown(wait=False, kill_workers=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise
        pool.shutdown(wait=True)


def _run_jobs(cfg: RunSpec, todo: list[tuple[Job, Fold]], data: FeatureSet, rundir: RunDir) -> list[dict]:
    """Run ``todo`` and write each record as soon as its job finishes (so a killed run keeps
    every finished job), with the test part's indices, labels and trials beside its predictions."""
    fold_of = {job.key: fold for job, fold in todo}
    trials = data.meta["trial"].to_numpy()
    records = []
    for rec, pred in progress(_results(cfg, todo, data), total=len(todo), desc="jobs"):
        test = fold_of[rec["key"]].test
        rundir.write_record(rec, pred, test, data.labels[test], trials[test])
        records.append(rec)
    return records


def split(cfg: RunSpec, data: FeatureSet) -> dict[int, list[Fold]]:
    """The partition of every split seed of the run, after checking that the data can support
    the protocol (before any job, naming the protocol, the dataset and the count)."""
    options = resolve_options(cfg.protocol, cfg.protocol_options)
    check_data(cfg.protocol, data.meta, cfg.dataset, options, data.info.get("structure"))
    folds = {}
    for seed in dict.fromkeys(cfg.split_seed_of(s) for s in cfg.seeds):
        folds[seed] = get_splitter(cfg.protocol)(data.meta, seed=seed, **options)
        check_folds(cfg.protocol, folds[seed], cfg.dataset)
    return folds


def load_data(cfg: RunSpec) -> tuple[FeatureSet, dict]:
    """The dataset and the loader options it was made with. A loader that extracts per subject
    fills an empty cache with the run's ``n_jobs`` workers, as `prepare --n-jobs` would (wesad-e4
    cold: 141 s serial in the main process before any job). ``n_jobs`` stays out of the returned
    options, which key the run's jobs: the features do not depend on it."""
    options = {**dataset_options(cfg.preset, cfg.dataset), **cfg.dataset_options}
    if cfg.n_jobs > 1 and "n_jobs" not in options and extracts_per_subject(cfg.dataset):
        return prepare_dataset(cfg.dataset, n_jobs=cfg.n_jobs, **options), options
    return open_dataset(cfg.dataset, **options), options


def prepare(cfg: RunSpec) -> tuple[FeatureSet, dict, list[tuple[Job, Fold]]]:
    """The run's data (normalised as asked), its loader options, and every job with its fold:
    the reference columns (floor and stimulus oracle, once, on every modality, even in drop
    studies), then the methods."""
    from methods.oracle import reference_specs

    data, options = load_data(cfg)
    # Per-subject normalisation (features only) before splitting; a runner option, not the splitter's.
    data = normalize_features(data, cfg.protocol_options.get("normalize", "none"))
    folds = split(cfg, data)
    protocol_options = {**resolve_options(cfg.protocol, cfg.protocol_options),
                        **{k: v for k, v in cfg.protocol_options.items() if k in RUNNER_OPTIONS}}
    refs, listed = reference_specs(cfg.methods, data.meta, cfg.references,
                                   get_protocol(cfg.protocol).references(protocol_options))
    return data, options, (plan(replace(cfg, methods=refs, drops=((),)), data, folds, options,
                                protocol_options)
                           + plan(replace(cfg, methods=listed), data, folds, options, protocol_options))


def run(cfg: RunSpec, rundir: RunDir | None = None) -> RunOutcome:
    """Run (or resume) ``cfg`` into ``rundir`` (default: ``cfg``'s output directory); returns
    every record of the run, computed now or before."""
    rundir = rundir or RunDir(cfg.resolved_out())
    data, options, planned = prepare(cfg)
    jobs = [j for j, _ in planned]
    fold_of = {j.key: f for j, f in planned}
    # The directory is created (and locked) only once the data loaded: a failed load leaves
    # nothing behind, and no other run writes between reading the records and results.csv.
    with rundir.lock():
        # Finished jobs are cached; failed, timed-out and invalid ones are tried again.
        done = {j.key: r for j in jobs if (r := rundir.read_record(j.key)) is not None and r["status"] == "ok"}
        todo = [(j, fold_of[j.key]) for j in jobs if j.key not in done]
        rundir.write_manifest(_manifest(cfg, options, data, jobs))
        for rec in _run_jobs(cfg, todo, data, rundir) if todo else []:
            done[rec["key"]] = rec
        records = [done[j.key] for j in jobs]
        results = records_frame(records)
        rundir.write_results(results)
    return RunOutcome(rundir, records, results, len(todo), rundir.invalid, rundir.problems)


def _manifest(cfg: RunSpec, options: dict, data: FeatureSet, jobs: list[Job]) -> Manifest:
    """``run.json``: the spec, and what the run learned (module `benchmark.manifest`), so
    ``report`` can check completeness and render without reloading the dataset."""
    from .fastpath import code_fingerprint, method_sources

    return Manifest(spec=cfg.to_dict(), jobs=tuple(j.key for j in jobs), emotions=tuple(data.emotions),
                    items=items_text(label_items(cfg.dataset, options)), loader_options=options,
                    code=code_fingerprint(), request=request_hash(cfg.request or {}),
                    sources=method_sources({j.method.cls for j in jobs}))
