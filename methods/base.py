"""The interface every method implements, and the feature helpers they share.

scikit-learn conventions: ``__init__`` stores hyper-parameters only (so ``get_params``/``clone``
work), ``fit`` resolves ``random_state`` and sets trailing-underscore state, ``predict``
returns (n, C) rows on the probability simplex.
"""
from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from core.params import check_params, declared
from datasets.base import FeatureSet

# The paper's column groups, then "external": a class passed to the Python API that no registry
# knows and that declares no family.
FAMILIES = ("reference", "LDL", "MER", "single-modal EDL", "MMER", "multimodal EDL", "external")


class BaseMethod(BaseEstimator):
    """Base class of every benchmark method.

    Class attributes (set by ``@register``; override in the class where needed):

    name, display, family, paper, year
        Registry key, table column title, the paper's column group (one of ``FAMILIES``), citation and year.
    version
        Bumped when the method's code changes its results; part of every job's key, so a
        changed method is re-run and an unchanged one is not.
    presets
        Preset name (``smoke``, ``quick``, ``paper``) -> hyper-parameter overrides, e.g. epochs.
    variants
        Variant name -> hyper-parameter overrides, addressed as ``name[variant]``.
    modality_subsets
        Whether the method runs on any non-empty subset of modalities.
    known_failures
        Conformance check name -> reason, for checks the method is known to fail (reported
        as strict expected failures, so a fix shows up as an unexpected pass).
    oracle
        True for a reference that reads information no method is given (e.g. the stimulus
        identity): shown in tables beside the prior, never ranked, never in significance tests. The
        only classes whose ``predict`` is given every meta column (`predict_view`); every
        other method sees the columns of `datasets.base.PREDICT_META` only (``subject``).
    uses_validation
        Whether ``fit`` uses its ``val`` argument (early stopping, or choosing a setting on it).
        False: the runner merges the validation part into the training part and calls
        ``fit(train + val, None)``, so the method trains on all non-test data and the record's
        ``n_train`` says so. True (the default) keeps ``val`` apart. A configuration may refine
        it (`BaseMethod.needs_validation`: a deep method with ``patience=0`` does not
        early-stop). True is the default because it is the safe mistake for a plugin: a method
        that ignores ``val`` but does not say so trains on less data than it could (the
        conformance check ``ignores_validation`` cannot catch it), whereas a method that
        early-stops and were given ``val=None`` by a False default would silently stop
        early-stopping. The built-in methods all declare it.
    trains_on
        ``"fold"``: the fold's training part (every method). ``"other-subjects"``: every window
        of the subjects not in the test part, for a reference that measures what other people's
        labels say (the stimulus consensus); declared, so the runner needs no list of names.
    search_space
        Hyper-parameter -> list of values or a ``scipy.stats`` frozen distribution, exactly
        what scikit-learn's ``ParameterGrid``/``ParameterSampler`` take; searched by the shared
        tuner (`benchmark.tuning`, ``run --tune N``). The class docstring names its source
        (the paper or official code, else "our choice"). Empty: tuning keeps the defaults.
    constraints
        Parameter name -> `core.params.Constraint` (type, range, choices) for every
        ``__init__`` parameter except ``random_state``; merged with the bases' declarations and
        checked before any work starts (`core.params.check_params`).
    tune_in_paper
        Whether the method's paper tuned its hyper-parameters (by cross-validation or on a
        validation split); the ``paper`` preset then tunes it, with
        `benchmark.tuning.PAPER_BUDGET` configurations, unless ``--tune`` says otherwise.
    """

    name: ClassVar[str] = ""
    display: ClassVar[str] = ""
    family: ClassVar[str] = "reference"
    paper: ClassVar[str] = ""
    year: ClassVar[int] = 0
    version: ClassVar[str] = "1"
    presets: ClassVar[dict[str, dict]] = {}
    variants: ClassVar[dict[str, dict]] = {}
    modality_subsets: ClassVar[bool] = True
    known_failures: ClassVar[dict[str, str]] = {}
    oracle: ClassVar[bool] = False
    trains_on: ClassVar[str] = "fold"
    search_space: ClassVar[dict] = {}
    constraints: ClassVar[dict] = {}
    tune_in_paper: ClassVar[bool] = False
    uses_validation: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs) -> None:
        """Every ``fit`` a subclass defines first checks the hyper-parameters against the
        declared ``constraints``, as scikit-learn checks its estimators' at ``fit``: a method
        built in a notebook (``MAET(epochs=-5).fit(data)``) is refused with the same message as
        ``maet[epochs=-5]`` on the command line, and no method re-checks its choices by hand."""
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "checks_params", False):
            @functools.wraps(fit)
            def checked_fit(self, *args, **kw):
                check_params(declared(type(self)), self.get_params(deep=False), where=type(self).__name__)
                return fit(self, *args, **kw)
            checked_fit.checks_params = True
            cls.fit = checked_fit

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "BaseMethod":
        """Learn from one fold's training part; return ``self``.

        The runner calls it once per job on a fresh instance built from the job's parameters
        (preset, variant, explicit overrides) with ``random_state`` derived from the job's seed,
        so the method must resolve its randomness here, from ``random_state`` only, for a job's
        result not to depend on the worker or the order of jobs. Before a subclass's ``fit``
        runs, its hyper-parameters are checked against the declared ``constraints``
        (``__init_subclass__`` wraps it), so an instance built by hand is refused as the
        command line would refuse its spec.

        Parameters
        ----------
        train
            The fold's training part, labels included: every sample the protocol does not hold
            out for testing. Fit every scaling and statistic on it alone.
        val
            The fold's inner validation part, carved from the training data and never from the
            test part: for early stopping or choosing a setting. A method that does not use it
            (``uses_validation = False``) is given it merged into ``train`` by the runner, and
            ``val=None``, so that it trains on all non-test data. ``None`` also when the fold
            has no validation part, so a method must run without it.

        Returns
        -------
        BaseMethod
            ``self``, fitted: learnt state in trailing-underscore attributes (scikit-learn's
            convention, so ``clone`` and ``get_params`` see hyper-parameters only).
        """
        raise NotImplementedError

    def predict(self, data: FeatureSet) -> np.ndarray:
        """The predicted emotion distribution of every sample in ``data``.

        Parameters
        ----------
        data
            The test part as ``predict_view`` gives it: features and modality roles, no labels,
            and of the meta only the columns of ``datasets.base.PREDICT_META`` (``subject``) —
            none that names the stimulus, condition, label or position in a trial — so a method
            cannot read what it is scored against. Only a reference marked ``oracle = True``
            keeps every meta column.

        Returns
        -------
        numpy.ndarray
            (n, C) rows on the probability simplex: finite, non-negative, each summing to 1
            within ``SIMPLEX_TOL`` (``normalise_rows`` puts raw scores there). The runner checks
            it (``methods.contract.check_prediction``) before scoring; a prediction off the
            simplex is recorded as an ``invalid`` job, not scored.
        """
        raise NotImplementedError

    def n_parameters(self) -> int:
        """Number of fitted parameters (trainable weights for neural methods); 0 if unknown."""
        return 0

    def needs_validation(self) -> bool:
        """Whether this configuration's ``fit`` uses ``val``; the class's ``uses_validation``
        unless a subclass knows better from its hyper-parameters. When False the runner
        (`benchmark.tuning.fit_job`) fits it on training and validation merged."""
        return type(self).uses_validation

    def refit_params(self) -> dict | None:
        """After ``fit(train, val)``: the settings this fit chose on ``val`` (e.g. a ridge λ), as
        ``__init__`` overrides with which the runner refits on training and validation merged;
        ``None`` (the default) keeps the model fitted on ``train`` (e.g. an early-stopped
        network, whose stopping point has no meaning on more data)."""
        return None


def predict_view(cls: type[BaseMethod], data: FeatureSet) -> FeatureSet:
    """What ``cls.predict`` is given of ``data``: no labels, and only the meta columns of
    `datasets.base.PREDICT_META` (`FeatureSet.for_predict`); a reference marked
    ``oracle = True`` keeps every meta column (`FeatureSet.unlabelled`)."""
    return data.unlabelled() if getattr(cls, "oracle", False) else data.for_predict()


def normalise_rows(p: np.ndarray) -> np.ndarray:
    """Clip to >= 0 and renormalise rows to sum to 1 (uniform where a row is all zero)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    s = p.sum(axis=1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[1])
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), uniform)


class ConcatFeatures:
    """Standardised concatenation of all modalities, fitted on the training fold only.

    The classical LDL methods take one vector per sample; standardising on the training fold
    (never the test fold) avoids the leakage reported against LibEER and TorchEEG.
    """

    def fit(self, train: FeatureSet) -> "ConcatFeatures":
        self.modalities_ = tuple(train.modalities)
        self.scaler_ = StandardScaler().fit(train.concat_features())
        return self

    def transform(self, data: FeatureSet) -> np.ndarray:
        if not hasattr(self, "scaler_"):
            raise RuntimeError("ConcatFeatures.transform called before fit")
        if tuple(data.modalities) != self.modalities_:
            raise ValueError(f"fitted on modalities {self.modalities_}, got {tuple(data.modalities)}")
        return self.scaler_.transform(data.concat_features())
