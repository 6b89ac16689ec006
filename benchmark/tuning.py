"""The shared tuner (docs/concepts/tuning.md): every method searched with the same budget on its fold's inner
validation split, never on the test part.

For a job with budget N > 0 (``run --tune N``, or the ``paper`` preset for a method whose paper
tuned, see `budget`):

- **Space.** The method's ``search_space`` (``methods.base.BaseMethod``), minus the keys the job
  fixes itself: its variant's overrides (an ablation stays an ablation) and its explicit
  ``name[key=value]`` parameters (a value typed by the user is kept).
- **Candidates, at most N.** The default configuration (preset + variant + parameters: exactly
  the untuned job) is always the first, so the selection can never be worse on validation than
  the defaults. Then the whole ``ParameterGrid`` when it fits in the rest of the budget, else
  ``ParameterSampler`` (scikit-learn; continuous entries are ``scipy.stats`` distributions)
  drawn with the job's *base* seed, not its key: every fold of a seed tries the same
  candidates, so traces compare across folds.
- **Score.** Each candidate is built with the job's own ``random_state``, fitted by
  ``fit(train, val)`` and scored with the suite's KL (`core.metrics.evaluate`) on
  ``val``. `fit_job` never receives the test part, so no test sample can reach the
  selection. The lowest validation KL wins; ties go to the earlier candidate (the default).
- **Deep methods** early-stop on ``val`` and are selected on the same ``val``. Their
  validation KL is the best epoch's, so it is optimistic, but equally for every candidate; a
  second inner split would train the final model on less data than the candidates that chose
  it. The test part stays untouched either way.
- **What the final model trains on, one rule for every method** (`final_fit`), tuned or
  not, so tuned and default results differ in the hyper-parameters only, never in the data:

  - a configuration that does not use ``val`` (``needs_validation()`` False: the classical
    methods, the prior, a deep method with ``patience=0``) is fitted on the training and
    validation parts merged, ``fit(train + val, None)``: all the non-test data the protocol
    gives (``val_use = "merged"``). Tuned, its candidates are fitted on ``train`` alone and
    scored on ``val``; the winner's parameters are then refitted on both (one more fit);
  - a configuration that chose a setting on ``val`` and reports it (``refit_params()``, e.g.
    TLR-DL's ridge λ) is refitted on both with that setting fixed (``"refit"``);
  - a configuration that early-stops on ``val`` keeps the early-stopped model fitted on
    ``train`` (``"held-out"``): its stopping point was chosen for that training set, and
    refitting for the same number of epochs on more data would double the cost of the deep
    methods. Tuned, the winner's fitted model is kept (methods are deterministic given
    ``random_state``, a conformance check, so fitting it again would give the same model).

  The record's ``n_train`` counts what the final model trained on, ``n_val`` the validation
  part the protocol carved, ``val_use`` which of the rules applied (``"none"`` when the fold
  has no validation part).
- **Record.** ``rec["tuning"]`` (`fit_job`) holds the budget, the searched space, the
  fixed keys, the chosen parameters, every candidate with its validation KL and fit seconds,
  and the total tuning seconds. The budget is part of the job key (``config.method.tune``,
  absent when 0, so untuned keys are unchanged).
- **Resume** is at job granularity: a record is written when its job finished, so a job killed
  during its search repeats the whole search, and finished jobs (each tunes its own fold) are
  kept. A per-candidate cache would be feasible (a file per job key and candidate) but needs
  workers that write to the run directory, which today only the parent process does; not built.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from sklearn.base import clone

from datasets.base import FeatureSet
from methods.base import BaseMethod, predict_view
from methods.contract import check_prediction
from core.metrics import evaluate

from .errors import JobTimeout

# Configurations per method in the ``paper`` preset, for methods whose paper tuned
# (``tune_in_paper``) and when ``--tune`` is not given. Our choice: the papers give grids of
# 5-50 points; 20 covers a 2-D grid of 4-5 values per axis.
PAPER_BUDGET = 20


def budget(cls: type[BaseMethod], preset: str, tune: int | None) -> int:
    """Configurations to try for ``cls``: ``tune`` when given (0 = defaults); when ``None``
    the preset decides: `PAPER_BUDGET` in the ``paper`` preset for a method whose paper
    tuned, else 0."""
    if tune is not None:
        return tune
    return PAPER_BUDGET if preset == "paper" and cls.tune_in_paper else 0


def free_space(spec) -> dict:
    """``spec``'s search space without the keys its variant or explicit parameters fix."""
    fixed = {**spec.cls.variants.get(spec.variant, {}), **spec.params}
    return {k: v for k, v in spec.cls.search_space.items() if k not in fixed}


def candidates(space: dict, default: dict, n: int, seed: int) -> tuple[list[dict], str]:
    """(at most ``n`` candidates, default first; how the rest was drawn: grid/random/none)."""
    if not space or n <= 1:
        return [default], "none"
    if all(isinstance(v, Sequence) and not isinstance(v, str) for v in space.values()):
        rest = [p for p in ParameterGrid(space) if p != default]
        if len(rest) <= n - 1:
            return [default] + rest, "grid"
    # n draws (without replacement for list-only spaces), so n - 1 remain once the default is out
    drawn = [p for p in ParameterSampler(space, n_iter=n, random_state=seed) if p != default]
    return [default] + drawn[:n - 1], "random"


def fit_job(job, train: FeatureSet,
            val: FeatureSet | None) -> tuple[BaseMethod, float, dict | None, dict]:
    """The job's fitted model, the seconds of its final fit, the tuning record (None when the
    job is untuned) and what the final model trained on (`final_fit`'s ``n_train`` and
    ``val_use``). The only place a job's model is fitted, tuned or not."""
    val = val if val is not None and len(val) else None
    if not job.tune:
        untuned = job.method.build(job.preset, random_state=job.method_seed)
        method, fit_seconds, fitted_on = final_fit(untuned, train, val)
        return method, fit_seconds, None, fitted_on
    return _tune(job, train, val)


def final_fit(method: BaseMethod, train: FeatureSet, val: FeatureSet | None,
              fitted: bool = False) -> tuple[BaseMethod, float, dict]:
    """Fit ``method`` as the final model of a fold (the rules in this module's docstring):
    (model, seconds, ``{"n_train", "val_use"}``). ``fitted``: ``method`` is a tuning winner
    already fitted on ``(train, val)`` (or ``(train, None)`` if it does not use ``val``)."""
    t0 = time.perf_counter()
    if val is None:
        if not fitted:
            method.fit(train, None)
        use, n = "none", len(train)
    elif not method.needs_validation():
        method = clone(method) if fitted else method
        method.fit(train.merged(val), None)
        use, n = "merged", len(train) + len(val)
    else:
        if not fitted:
            method.fit(train, val)
        chosen = method.refit_params()
        if chosen:
            method = clone(method).set_params(**chosen)
            method.fit(train.merged(val), None)
            use, n = "refit", len(train) + len(val)
        else:
            use, n = "held-out", len(train)
    return method, time.perf_counter() - t0, {"n_train": n, "val_use": use}


def _tune(job, train: FeatureSet, val: FeatureSet | None) -> tuple[BaseMethod, float, dict, dict]:
    started = time.perf_counter()
    spec = job.method
    space = free_space(spec)
    untuned = spec.build(job.preset, random_state=job.method_seed)
    default = {k: v for k, v in untuned.get_params(deep=False).items() if k in space}
    cands, search = candidates(space, default, job.tune, job.seed)
    record = {"budget": job.tune, "space": {k: _describe(v) for k, v in space.items()},
              "fixed": sorted(set(spec.cls.search_space) - set(space)), "search": search,
              "selection": "KL on the fold's inner validation split"}
    if search == "none":  # nothing to choose: the untuned fit, without scoring
        method, fit_seconds, fitted_on = final_fit(untuned, train, val)
        why = "budget 1 keeps the defaults" if space else (
            "no search space (or every key fixed by the variant/parameters): defaults used")
        record.update(chosen={}, chosen_default=True, trace=[], note=why,
                      seconds=time.perf_counter() - started)
        return method, fit_seconds, record, fitted_on
    if val is None:
        raise ValueError(f"tuning {spec.label} needs the fold's inner validation split; protocol "
                         f"{job.protocol!r} gave this fold none (use a val_size > 0)")
    shown = predict_view(spec.cls, val)
    best, trace, errors = None, [], []
    for i, params in enumerate(cands):
        entry = {"params": _plain(params), "default": i == 0}
        t0 = time.perf_counter()
        try:
            method = spec.build(job.preset, random_state=job.method_seed, **params)
            method.fit(train, val if method.needs_validation() else None)
            entry["fit_seconds"] = time.perf_counter() - t0
            pred = check_prediction(method.predict(shown), len(val), val.n_emotions)
            entry["val_kl"] = evaluate(val.labels, pred)["kl"]
        except JobTimeout:
            raise
        except Exception as exc:  # one bad corner of the space must not fail the job
            entry.update(fit_seconds=time.perf_counter() - t0, val_kl=None,
                         error=f"{type(exc).__name__}: {exc}"[:300])
            errors.append(entry["error"])
        trace.append(entry)
        if entry["val_kl"] is not None and (best is None or entry["val_kl"] < best[0]["val_kl"]):
            best = (entry, method)
    if best is None:
        raise RuntimeError(f"every one of {len(cands)} tuning candidates failed; first: {errors[0]}")
    entry, method = best
    method, refit_seconds, fitted_on = final_fit(method, train, val, fitted=True)
    fit_seconds = entry["fit_seconds"] if fitted_on["val_use"] == "held-out" else refit_seconds
    record.update(chosen=entry["params"], chosen_default=entry["default"], val_kl=entry["val_kl"],
                  trace=trace, seconds=time.perf_counter() - started)
    return method, fit_seconds, record, fitted_on


def _describe(values) -> list | str:
    """A search-space entry as JSON: the list of values, or the distribution and its arguments."""
    if hasattr(values, "dist") and hasattr(values, "args"):
        args = [*map(_plain, values.args), *(f"{k}={_plain(v)}" for k, v in values.kwds.items())]
        return f"{values.dist.name}({', '.join(map(str, args))})"
    return [_plain(v) for v in values]


def _plain(value):
    """numpy scalars and containers as plain Python, for the JSON record."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
