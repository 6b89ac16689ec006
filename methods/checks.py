"""The conformance checks every method passes, public so that a plugin runs them in its own CI.

In the spirit of scikit-learn's ``parametrize_with_checks``: each check is a plain function of a
method class (registered or not) that raises ``AssertionError`` with a readable message. The
suite runs them over every registered method (``tests/test_conformance.py``); a package that
ships a method runs them over its own classes:

    from methods.checks import parametrize_with_checks
    from my_ldl.ridge import RidgeLDL

    @parametrize_with_checks([RidgeLDL])
    def test_conformance(method, check):
        check(method)

Like scikit-learn's, `parametrize_with_checks` takes classes or configured instances
(``[RidgeLDL, RidgeLDL(alpha=10)]``): an instance is checked with the parameters it sets away
from its class's defaults applied over every preset (`checked_class`), so the
configuration a user means to run is the one held to the contract.

A check is named by its function without ``check_`` (``beats_prior``). A class lists the checks
it is known to fail in ``known_failures`` (name -> reason); `parametrize_with_checks` runs
them as strict expected failures, so a fix shows up as an unexpected pass.

The data are small synthetic sets made here, so no fixture is needed: a DMER-shaped pooled
70/10/20 split (`conformance_split`) and a WESAD-shaped 120/40 split
(`wesad_split`). Methods are built with their ``smoke`` preset and ``random_state=0``, as
the runner builds them. Fits are cached per class and data, so the whole set fits a method four
times: once on the conformance split (shared by the contract, prior, poisoned-label and
withheld-meta checks), once more for determinism, once on a modality subset and once on
WESAD-shaped data; a method that declares it does not use the validation part is fitted a fifth
time, without it (``ignores_validation``).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np
from sklearn.base import clone

from core.metrics import evaluate
from core.params import Constraint, ParameterError, check_params, declared
from datasets.base import PREDICT_META, FeatureSet
from datasets.synthetic import make_synthetic, make_synthetic_wesad

from .base import FAMILIES, BaseMethod
from .contract import PredictionError, check_prediction
from .prior import Prior
from .registry import method_parameters

Split = tuple[FeatureSet, "FeatureSet | None", FeatureSet]
PRESET = "smoke"
SEARCH_DRAWS = 5  # draws checked from each scipy.stats distribution of a search space


# ------------------------------------------------------------------ data
@functools.cache
def conformance_data() -> FeatureSet:
    """DMER-shaped synthetic data: 4 subjects × 32 clips × 4 windows (512 samples)."""
    return make_synthetic(n_subjects=4, n_windows=4, seed=1)


@functools.cache
def conformance_split() -> Split:
    """A pooled random 70/10/20 train/val/test split of `conformance_data`."""
    data = conformance_data()
    idx = np.random.default_rng(0).permutation(len(data))
    a, b = int(0.7 * len(idx)), int(0.8 * len(idx))
    return data.subset(idx[:a]), data.subset(idx[a:b]), data.subset(idx[b:])


@functools.cache
def wesad_split() -> Split:
    """WESAD-shaped synthetic data (4 subjects × 5 conditions × 8 windows): 120 train, no
    validation part, 40 test."""
    data = make_synthetic_wesad(n_subjects=4, n_windows=8, seed=1)
    idx = np.random.default_rng(0).permutation(len(data))
    return data.subset(idx[:120]), None, data.subset(idx[120:])


@functools.cache
def _modality_subset(split: Split) -> Split:
    """``split`` without its behavioural modalities and its first auxiliary one (on DMER-shaped
    data: EEG and PPG are left), so a fusion method meets a partner missing on both sides."""
    roles = split[0].roles
    auxiliary = [m for m, r in roles.items() if r == "auxiliary"][:1]
    drop = [m for m, r in roles.items() if r == "behavioral"] + auxiliary

    def cut(data):
        for m in drop:
            data = data.without(m)
        return data

    return tuple(None if d is None else cut(d) for d in split)


# ------------------------------------------------------------------ classes or instances
def checked_class(method) -> type:
    """The class the checks run on: ``method`` itself when it is a class; for an instance, a
    subclass of its class (same name, docstring, module) whose presets carry the parameters the
    instance sets away from the class's defaults, so every check builds that configuration."""
    if isinstance(method, type):
        return method
    cls = type(method)
    if not isinstance(method, BaseMethod):
        raise TypeError(f"{method!r} is not a methods.base.BaseMethod subclass or instance")
    signature = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in signature if p.default is not p.empty}
    params = {k: v for k, v in method.get_params(deep=False).items()
              if k != "random_state" and (k not in defaults or v != defaults[k])}
    if not params:
        return cls
    presets = {name: {**values, **params} for name, values in cls.presets.items()}
    presets.setdefault(PRESET, dict(params))
    return type(cls.__name__, (cls,), {"presets": presets, "__doc__": cls.__doc__,
                                       "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                       "_checked_params": params, "_checked_origin": cls})


def _origin(cls) -> type:
    """The user's class behind a `checked_class` subclass (``cls`` otherwise)."""
    return cls.__dict__.get("_checked_origin", cls)


# ------------------------------------------------------------------ fitting, cached
def _label(cls) -> str:
    params = cls.__dict__.get("_checked_params")
    inside = f"({', '.join(f'{k}={v!r}' for k, v in params.items())})" if params else ""
    return (cls.name or cls.__name__) + inside


def _build(cls, random_state: int = 0) -> BaseMethod:
    """An instance with the ``smoke`` preset, as the runner builds one."""
    return cls(**{**cls.presets.get(PRESET, {}), "random_state": random_state})


@functools.lru_cache(maxsize=64)
def _fitted(cls, split: Split) -> BaseMethod:
    """The method fitted once on ``split`` and shared by the checks that read its predictions."""
    train, val, _ = split
    return _build(cls).fit(train, val)


@functools.lru_cache(maxsize=64)
def _prediction(cls, split: Split) -> np.ndarray:
    """The test predictions of `_fitted`, checked against the output contract (read-only,
    since every check that reads them shares the one array)."""
    test = split[2]
    try:
        pred = check_prediction(_fitted(cls, split).predict(test), len(test), test.n_emotions)
    except PredictionError as exc:
        raise AssertionError(f"{_label(cls)}: {exc}") from None
    pred = pred.copy()
    pred.setflags(write=False)
    return pred


# ------------------------------------------------------------------ checks without data
def check_metadata(cls) -> None:
    """A BaseMethod subclass with a family of the paper's columns, a citation, a docstring that
    documents it, a version string, and known failures that name real checks."""
    label = _label(cls)
    assert isinstance(cls, type) and issubclass(cls, BaseMethod), \
        f"{label} must subclass methods.base.BaseMethod"
    assert cls.family in FAMILIES, f"{label}: family {cls.family!r} is not one of {FAMILIES}"
    assert isinstance(cls.paper, str) and cls.paper.strip(), f"{label}: set `paper` (the citation)"
    assert cls.__doc__ and len(cls.__doc__.strip()) > 20, \
        f"{label}: document the method and its deviations in the class docstring"
    assert isinstance(cls.version, str), f"{label}: `version` must be a string"
    unknown = set(cls.known_failures) - {check_name(c) for c in CHECKS}
    assert not unknown, f"{label}: known_failures names no check: {sorted(unknown)}"


def check_parameters_declared(cls) -> None:
    """``__init__`` takes ``random_state``; every other parameter has a default and a declared
    constraint (its own or a base class's); the class's own declarations name parameters only."""
    label, signature = _label(cls), inspect.signature(cls.__init__).parameters
    assert "random_state" in signature, f"{label}.__init__ must take random_state"
    params, constraints = method_parameters(cls), declared(cls)
    required = [p for p in params if signature[p].default is inspect.Parameter.empty]
    assert not required, f"{label}: give {required} a default (a method is built from its preset alone)"
    missing = [p for p in params if p not in constraints]
    assert not missing, (f"{label}: no constraint declared for {missing}; add them to the class "
                         "attribute `constraints` (core.params)")
    stray = [k for k in cls.__dict__.get("constraints", {}) if k not in params]
    assert not stray, f"{label}: constraints declared for {stray}, which __init__ does not take"
    bad = [k for k, c in constraints.items() if not isinstance(c, Constraint)]
    assert not bad, f"{label}: constraints of {bad} are not core.params.Constraint objects"


def _search_values(space: dict) -> dict[str, list]:
    """Each searched parameter's list, or a few draws of its ``scipy.stats`` distribution."""
    return {k: list(v) if isinstance(v, (list, tuple))
            else list(np.atleast_1d(v.rvs(size=SEARCH_DRAWS, random_state=0)))
            for k, v in space.items()}


def check_values_satisfy_constraints(cls) -> None:
    """The defaults, every ``presets`` and ``variants`` entry and every ``search_space`` value
    name parameters of ``__init__`` and satisfy their declared constraints."""
    label, params = _label(cls), method_parameters(cls)
    signature = inspect.signature(cls.__init__).parameters
    sources = [("the defaults", {p: signature[p].default for p in params})]
    sources += [(f"preset {k!r}", v) for k, v in cls.presets.items()]
    sources += [(f"variant {k!r}", v) for k, v in cls.variants.items()]
    sources += [("search_space", {key: v}) for key, values in _search_values(cls.search_space).items()
                for v in values]
    for source, values in sources:
        unknown = [k for k in values if k not in params]
        assert not unknown, f"{label}: {source} sets {unknown}, not parameters of __init__"
        try:
            check_params(declared(cls), values, where=label)
        except ParameterError as exc:
            raise AssertionError(f"{source}: {exc}") from None


def check_clone_round_trip(cls) -> None:
    """``clone`` gives an instance of the same class with the same ``get_params``."""
    method = _build(cls, random_state=3)
    copy = clone(method)
    assert type(copy) is type(method), f"{_label(cls)}: clone changed the class"
    assert copy.get_params() == method.get_params(), \
        f"{_label(cls)}: get_params differs after clone; __init__ must store every parameter as is"


# ------------------------------------------------------------------ checks that fit
def check_output_contract(cls, split: Split | None = None) -> None:
    """``predict`` returns (n, C) finite, non-negative rows summing to 1 (methods.contract)."""
    _prediction(cls, split or conformance_split())


def check_determinism(cls, split: Split | None = None) -> None:
    """Two fits with the same ``random_state`` predict the same (within 1e-6)."""
    split = split or conformance_split()
    train, val, test = split
    again = _build(cls).fit(train, val).predict(test)
    np.testing.assert_allclose(again, _prediction(cls, split), atol=1e-6,
                               err_msg=f"{_label(cls)}: same random_state, different output")


def check_beats_prior(cls, split: Split | None = None) -> None:
    """A lower test KL than the training-mean prior (the floor of every table)."""
    if _origin(cls) is Prior:
        return
    split = split or conformance_split()
    train, _, test = split
    score = evaluate(test.labels, _prediction(cls, split))["kl"]
    floor = evaluate(test.labels, Prior().fit(train).predict(test))["kl"]
    assert score < floor, f"{_label(cls)}: KL {score:.5f} does not beat the training-mean prior ({floor:.5f})"


def check_modality_subsets(cls, split: Split | None = None) -> None:
    """With ``modality_subsets`` declared, it fits and predicts without the behavioural and
    the first auxiliary modality."""
    if cls.modality_subsets:
        _prediction(cls, _modality_subset(split or conformance_split()))


def check_runs_on_wesad_shaped_data(cls) -> None:
    """It fits without a validation part and predicts on WESAD's modalities (ECG, EDA, EMG, ACC)."""
    _prediction(cls, wesad_split())


def check_poisoned_test_labels(cls, split: Split | None = None) -> None:
    """Predictions ignore the test labels: with each test row given another row's label, or a
    one-hot distribution on its least likely emotion, the fitted method predicts exactly the
    same. (A ``FeatureSet`` always carries labels; predict must never read them.)"""
    split = split or conformance_split()
    test, method = split[2], _fitted(cls, split)
    clean = _prediction(cls, split)
    poisons = {"another row's labels": test.labels[np.roll(np.arange(len(test)), 1)],
               "one-hot garbage": np.eye(test.n_emotions)[test.labels.argmin(axis=1)]}
    for what, labels in poisons.items():
        pred = np.asarray(method.predict(dataclasses.replace(test, labels=labels)))
        assert np.array_equal(pred, clean), (
            f"{_label(cls)}: predictions changed when the test labels were replaced by {what} "
            f"(max difference {np.abs(pred - clean).max():.3g}); predict must not read labels")


def check_withheld_meta(cls, split: Split | None = None) -> None:
    """Predictions read no meta column beyond `datasets.base.PREDICT_META` (``subject``):
    with the test part's other columns (stimulus, condition, trial, window, ...) permuted across
    rows, set to one value, or removed as the runner removes them (``FeatureSet.for_predict``),
    the fitted method predicts exactly the same, on DMER- and on WESAD-shaped data. Not run for
    a reference marked ``oracle = True``, which reads the stimulus by design."""
    for split in ((split,) if split is not None else (conformance_split(), wesad_split())):
        test, method = split[2], _fitted(cls, split)
        clean = _prediction(cls, split)
        withheld = [c for c in test.meta.columns if c not in PREDICT_META]
        perm = np.random.default_rng(0).permutation(len(test))
        permuted, constant = test.meta.copy(), test.meta.copy()
        for c in withheld:
            permuted[c] = permuted[c].to_numpy()[perm]
            constant[c] = constant[c].iloc[0]
        views = {"permuted across rows": dataclasses.replace(test, meta=permuted),
                 "set to one value": dataclasses.replace(test, meta=constant),
                 "removed (as the runner gives predict its data)": test.for_predict()}
        for what, data in views.items():
            try:
                pred = np.asarray(method.predict(data))
            except Exception as exc:
                raise AssertionError(
                    f"{_label(cls)}: predict failed when the meta columns {withheld} were {what} "
                    f"({type(exc).__name__}: {exc}); predict may read only {list(PREDICT_META)}"
                ) from None
            assert pred.shape == clean.shape and np.array_equal(pred, clean), (
                f"{_label(cls)}: predictions changed when the test meta columns {withheld} were "
                f"{what}; predict may read only {list(PREDICT_META)} (a reference that reads the "
                "stimulus by design declares oracle = True)")


def check_ignores_validation(cls, split: Split | None = None) -> None:
    """A method that declares it does not use the validation part (``needs_validation()``
    False with the ``smoke`` preset; ``uses_validation = False``) predicts exactly the same
    fitted with and without it, so the runner may merge that part into its training data."""
    if _build(cls).needs_validation():
        return
    split = split or conformance_split()
    train, val, test = split
    without = np.asarray(_build(cls).fit(train, None).predict(test))
    assert np.array_equal(without, _prediction(cls, split)), (
        f"{_label(cls)}: declares that it does not use the validation part (uses_validation = "
        f"False), but its predictions change when fitted without it (max difference "
        f"{np.abs(without - _prediction(cls, split)).max():.3g}); the runner would merge that part "
        "into training and fit(train + val, None), so declare uses_validation = True")


CHECKS = (check_metadata, check_parameters_declared, check_values_satisfy_constraints,
          check_clone_round_trip, check_output_contract, check_determinism, check_beats_prior,
          check_modality_subsets, check_runs_on_wesad_shaped_data, check_poisoned_test_labels,
          check_withheld_meta, check_ignores_validation)


def check_name(check) -> str:
    """``check_beats_prior`` -> ``beats_prior``, the key of ``known_failures``."""
    return check.__name__.removeprefix("check_")


def checks_for(cls) -> list:
    """The checks that apply to ``cls``: all of them, less the prior comparison for the prior
    itself, the modality subsets for a class that does not declare ``modality_subsets``, and the
    withheld meta for a reference marked ``oracle = True`` (it reads the stimulus by design)."""
    cls = checked_class(cls)
    skip = {check_beats_prior} if _origin(cls) is Prior else set()
    if getattr(cls, "oracle", False):
        skip.add(check_withheld_meta)
    if not cls.modality_subsets:
        skip.add(check_modality_subsets)
    return [c for c in CHECKS if c not in skip]


def parametrize_with_checks(classes):
    """A ``pytest.mark.parametrize("method, check", ...)`` over every applicable check of every
    class (or configured instance: `checked_class`), with ids ``name-check`` and each
    ``known_failures`` entry a strict xfail.

    pytest is imported here, so importing `methods` never needs it.
    """
    import pytest

    params = []
    for method in classes:
        cls = checked_class(method)
        for check in checks_for(cls):
            reason = cls.known_failures.get(check_name(check))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            params.append(pytest.param(cls, check, marks=marks, id=f"{_label(cls)}-{check_name(check)}"))
    return pytest.mark.parametrize("method, check", params)
