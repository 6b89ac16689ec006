"""The runner: plan jobs (methods × variants × folds × seeds), run the ones not yet recorded,
and write records and ``results.csv``.

Jobs run in worker processes through joblib (``n_jobs``) or on a Dask cluster
(``scheduler``); the same :func:`benchmark.worker.execute` runs in every case, each job seeded
from its own key and limited to ``threads_per_job`` BLAS/torch threads, so metrics do not depend
on the backend or on how many jobs run at once.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor

from datasets.base import FeatureSet
from datasets.normalize import normalize_features
from datasets.progress import progress
from methods.registry import MethodSpec
from protocols import (RUNNER_OPTIONS, Fold, check_data, check_folds, get_protocol, get_splitter,
                       resolve_options)

from .errors import RunDirError
from .jobs import Job, canonical_json, fingerprint, fold_hash
from .lock import locked
from .prepare import open_dataset
from .presets import dataset_options
from .provenance import provenance
from .rundir import default_out
from .store import Store, atomic_write, records_frame
from .tuning import budget
from .worker import execute, execute_in_worker, init_worker

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    methods: list[MethodSpec]
    dataset: str = "synthetic"
    protocol: str = "subject-dependent"
    preset: str = "quick"
    seeds: tuple[int, ...] = (0,)
    n_jobs: int = 1
    out: Path | None = None
    dataset_options: dict = field(default_factory=dict)
    protocol_options: dict = field(default_factory=dict)
    drops: tuple[tuple[str, ...], ...] = ((),)
    time_limit: float | None = None
    threads_per_job: int = 1
    scheduler: str | None = None
    dask_local: int = 0
    request: dict | None = None  # the request as typed, for the warm re-run fast path
    # add the prior and (where the data has a stimulus) the stimulus oracle unless listed
    references: bool = False
    # configurations tried per method (benchmark.tuning); 0 = defaults, None = the preset's rule
    tune: int | None = None
    # the seed that draws the partition; None: each run seed draws its own (splits and model
    # initialisation vary together); fixed: every seed uses this partition (model seeds only)
    split_seed: int | None = None

    def split_seed_of(self, seed: int) -> int:
        return seed if self.split_seed is None else self.split_seed

    def resolved_out(self) -> Path:
        return Path(self.out) if self.out else default_out(self.dataset, self.protocol, self.preset)


def plan(cfg: RunConfig, data: FeatureSet, folds: dict[int, list[Fold]], data_options: dict,
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
                    job = Job(method=spec, dataset=cfg.dataset, dataset_options=data_options,
                              data_fingerprint=fp, protocol=cfg.protocol,
                              protocol_options=protocol_options, fold=f.index, block=f.block,
                              preset=cfg.preset, seed=seed, split_seed=split_seed,
                              fold_hash=fold_hash(f), block_kind=kind, drop=tuple(drop),
                              tune=budget(spec.cls, cfg.preset, cfg.tune))
                    out.append((job, f))
    return out


@dataclass
class RunOutcome:
    out: Path
    records: list[dict]
    results: pd.DataFrame
    computed: int
    invalid_records: list[str]
    problems: dict[str, str] = field(default_factory=dict)  # invalid record path -> why

    @property
    def failed(self) -> pd.DataFrame:
        return self.results[self.results["status"] != "ok"]


def _cost_rank(item: tuple[Job, Fold]) -> int:
    """Submission order for worker pools: deep (torch) methods first, so the long jobs do not
    end up alone at the tail while the other workers idle (longest-first scheduling)."""
    from methods.training import TorchMethod

    return 0 if issubclass(item[0].method.cls, TorchMethod) else 1


def _results(cfg: RunConfig, todo: list[tuple[Job, Fold]], data: FeatureSet):
    """(record, prediction) of each job as it finishes, from the configured backend."""
    args = dict(time_limit=cfg.time_limit, threads=cfg.threads_per_job, prov=provenance())
    if cfg.scheduler or cfg.dask_local:
        from .distributed import run_on_dask

        yield from run_on_dask(todo, data, args, cfg.scheduler, cfg.dask_local)
    elif cfg.n_jobs == 1:
        for job, fold in todo:
            yield execute(job, data, fold, **args)
    else:
        # joblib's loky process pool with an initialiser: each worker receives the dataset
        # once; jobs then carry only their config and fold indices.
        pool = ProcessPoolExecutor(max_workers=cfg.n_jobs, initializer=init_worker, initargs=(data,))
        try:
            futures = [pool.submit(execute_in_worker, job, fold, **args)
                       for job, fold in sorted(todo, key=_cost_rank)]
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


def _run_jobs(cfg: RunConfig, todo: list[tuple[Job, Fold]], data: FeatureSet, store: Store) -> list[dict]:
    """Run ``todo`` and write each record as soon as its job finishes (so a killed run keeps
    every finished job)."""
    test_index = {job.key: fold.test for job, fold in todo}
    records = []
    for rec, pred in progress(_results(cfg, todo, data), total=len(todo), desc="jobs"):
        store.write(rec, pred, test_index[rec["key"]] if pred is not None else None)
        records.append(rec)
    return records


def split(cfg: RunConfig, data: FeatureSet) -> dict[int, list[Fold]]:
    """The partition of every split seed of the run, after checking that the data can support
    the protocol (before any job, naming the protocol, the dataset and the count)."""
    options = resolve_options(cfg.protocol, cfg.protocol_options)
    check_data(cfg.protocol, data.meta, cfg.dataset, options)
    folds = {}
    for seed in dict.fromkeys(cfg.split_seed_of(s) for s in cfg.seeds):
        folds[seed] = get_splitter(cfg.protocol)(data.meta, seed=seed, **options)
        check_folds(cfg.protocol, folds[seed], cfg.dataset)
    return folds


def load_data(cfg: RunConfig) -> tuple[FeatureSet, dict]:
    options = {**dataset_options(cfg.preset, cfg.dataset), **cfg.dataset_options}
    return open_dataset(cfg.dataset, **options), options


def prepare(cfg: RunConfig) -> tuple[FeatureSet, dict, list[tuple[Job, Fold]]]:
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
    refs, listed = reference_specs(cfg.methods, data.meta, cfg.references)
    return data, options, (plan(replace(cfg, methods=refs, drops=((),)), data, folds, options,
                                protocol_options)
                           + plan(replace(cfg, methods=listed), data, folds, options, protocol_options))


def run(cfg: RunConfig) -> RunOutcome:
    """Run (or resume) ``cfg``; returns every record of the run, computed now or before."""
    out = cfg.resolved_out()
    data, options, planned = prepare(cfg)
    jobs = [j for j, _ in planned]
    fold_of = {j.key: f for j, f in planned}
    # The directory is created (and locked) only once the data loaded: a failed load leaves
    # nothing behind, and no other run writes between reading the store and results.csv.
    with locked(out):
        store = Store(out)
        # Finished jobs are cached; failed, timed-out and invalid ones are tried again.
        done = {j.key: r for j in jobs if (r := store.read(j.key)) is not None and r["status"] == "ok"}
        todo = [(j, fold_of[j.key]) for j in jobs if j.key not in done]
        _write_manifest(out, cfg, options, jobs)
        for rec in _run_jobs(cfg, todo, data, store) if todo else []:
            done[rec["key"]] = rec
        records = [done[j.key] for j in jobs]
        results = records_frame(records)
        atomic_write(out / "results.csv", results.to_csv(index=False).encode())
    return RunOutcome(out, records, results, len(todo), store.invalid, store.problems)


def _write_manifest(out: Path, cfg: RunConfig, options: dict, jobs: list[Job]) -> None:
    """``run.json``: what the last ``run`` asked for, so ``report`` can check completeness."""
    from .fastpath import code_fingerprint

    manifest = {"request": cfg.request, "code": code_fingerprint(), "dataset": cfg.dataset, "dataset_options": options, "protocol": cfg.protocol,
                "protocol_options": cfg.protocol_options, "preset": cfg.preset,
                "seeds": list(cfg.seeds), "methods": [m.label for m in cfg.methods],
                "drops": [list(d) for d in cfg.drops], "jobs": [j.key for j in jobs]}
    atomic_write(out / "run.json", canonical_json(manifest).encode())


def load_run(out: Path) -> tuple[dict, list[dict], list[str]]:
    """The manifest, the records present, and the keys of expected jobs with no valid record."""
    out = Path(out)
    manifest_path = out / "run.json"
    if not manifest_path.exists():
        raise RunDirError(f"{out} is not a run directory (no run.json); give the --out of a `run`")
    try:
        manifest = json.loads(manifest_path.read_text())
        if not isinstance(manifest.get("jobs"), list) or not isinstance(manifest.get("dataset"), str):
            raise ValueError("no 'jobs' list or 'dataset' name")
    except (OSError, ValueError, AttributeError) as exc:
        raise RunDirError(f"{manifest_path} is damaged ({exc}); re-run the same `run` command "
                          "to rewrite it") from exc
    store = Store(out)
    records, missing = [], []
    for key in manifest["jobs"]:
        rec = store.read(key)
        (records.append(rec) if rec is not None else missing.append(key))
    absent = [k for k in missing if not store.record_path(k).exists()]
    if absent:  # invalid records were named by Store.read; name the absent ones too
        log.warning("%s: %d expected record(s) absent, e.g. %s; re-run the same `run` command to "
                    "compute them", out, len(absent), store.record_path(absent[0]))
    return manifest, records, missing
