"""The conformance suite every registered method passes: the public checks of
:mod:`methods.checks`, parametrised over the registry (so a new method or plugin gets them for
free), what only a registered method must satisfy, and tests that the checks catch what they
are for."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from methods import checks
from methods.base import BaseMethod
from core.params import Real
from methods.registry import method_classes

CLASSES = method_classes()


@checks.parametrize_with_checks(list(CLASSES.values()))
def test_conformance(method, check):
    check(method)


@pytest.mark.parametrize("name", list(CLASSES))
def test_registered_under_its_name(name):
    cls = CLASSES[name]
    assert cls.name == name and cls.family and cls.display


# ------------------------------------------------------------------ the checks catch violations
class _Peeker(BaseMethod):
    """Test double that predicts the labels it is given: perfect, and cheating."""

    family, paper = "reference", "test double"
    constraints = {"alpha": Real(low=0)}

    def __init__(self, alpha: float = 1.0, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, train, val=None):
        self.fitted_ = True
        return self

    def predict(self, data):
        return np.array(data.labels)


def test_a_method_that_reads_test_labels_is_caught():
    checks.check_beats_prior(_Peeker)  # it looks perfect ...
    with pytest.raises(AssertionError, match="_Peeker: predictions changed when the test labels"):
        checks.check_poisoned_test_labels(_Peeker)  # ... until its test labels are poisoned


def test_undeclared_parameters_and_values_outside_their_constraints_are_caught(monkeypatch):
    monkeypatch.setattr(_Peeker, "constraints", {})
    with pytest.raises(AssertionError, match=r"no constraint declared for \['alpha'\]"):
        checks.check_parameters_declared(_Peeker)
    monkeypatch.setattr(_Peeker, "constraints", {"alpha": Real(low=0), "beta": Real()})
    with pytest.raises(AssertionError, match=r"constraints declared for \['beta'\], which __init__ does not take"):
        checks.check_parameters_declared(_Peeker)
    monkeypatch.setattr(_Peeker, "constraints", {"alpha": Real(low=2)})
    with pytest.raises(AssertionError, match="the defaults: _Peeker: parameter alpha=1.0"):
        checks.check_values_satisfy_constraints(_Peeker)
    monkeypatch.setattr(_Peeker, "constraints", {"alpha": Real(low=0)})
    monkeypatch.setattr(_Peeker, "presets", {"smoke": {"alpha": -1}})
    with pytest.raises(AssertionError, match="preset 'smoke': _Peeker: parameter alpha=-1"):
        checks.check_values_satisfy_constraints(_Peeker)
    from scipy.stats import uniform

    monkeypatch.setattr(_Peeker, "presets", {})
    monkeypatch.setattr(_Peeker, "search_space", {"alpha": uniform(-1, 2)})
    with pytest.raises(AssertionError, match="search_space: _Peeker: parameter alpha="):
        checks.check_values_satisfy_constraints(_Peeker)
    monkeypatch.setattr(_Peeker, "search_space", {})
    monkeypatch.setattr(_Peeker, "known_failures", {"beats_the_prior": "typo"})
    with pytest.raises(AssertionError, match=r"known_failures names no check: \['beats_the_prior'\]"):
        checks.check_metadata(_Peeker)


def test_parametrize_with_checks_marks_known_failures_as_strict_xfails():
    mark = checks.parametrize_with_checks([CLASSES["pt-svm"], CLASSES["prior"]])
    params = {p.id: p for p in mark.args[1]}
    assert [m.kwargs["strict"] for m in params["pt-svm-beats_prior"].marks] == [True]
    assert not params["pt-svm-output_contract"].marks
    assert "prior-beats_prior" not in params and "prior-poisoned_test_labels" in params


# ------------------------------------------------------------------ predict sees the declared meta only
class _StimulusReader(BaseMethod):
    """Test double that predicts the mean training label of the test window's stimulus: what
    the stimulus oracle does, without declaring ``oracle = True``."""

    family, paper = "reference", "test double"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train, val=None):
        frame = pd.DataFrame(train.labels, index=train.meta["stimulus"].to_numpy())
        self.means_ = frame.groupby(level=0).mean()
        return self

    def predict(self, data):
        return self.means_.reindex(data.meta["stimulus"].to_numpy()).fillna(0.1).to_numpy()


def test_a_method_that_reads_the_stimulus_is_caught():
    checks.check_beats_prior(_StimulusReader)  # it beats the prior by reading the stimulus ...
    checks.check_poisoned_test_labels(_StimulusReader)  # ... reads no label ...
    with pytest.raises(AssertionError, match=r"_StimulusReader: predictions changed when the test meta "
                                             r"columns \[.*'stimulus'.*\] were permuted"):
        checks.check_withheld_meta(_StimulusReader)  # ... and is caught by the withheld meta


def test_the_withheld_meta_check_applies_to_every_method_but_an_oracle():
    assert checks.check_withheld_meta in checks.checks_for(_StimulusReader)
    oracles = [cls for cls in CLASSES.values() if cls.oracle]
    assert oracles and all(checks.check_withheld_meta not in checks.checks_for(c) for c in oracles)
    # an oracle is exempt by its class attribute, not by its name
    marked = type("_MarkedReader", (_StimulusReader,), {"oracle": True})
    assert checks.check_withheld_meta not in checks.checks_for(marked)


def test_a_method_that_reads_the_trial_position_fails_on_the_runners_view():
    class _WindowReader(_StimulusReader):
        def predict(self, data):
            w = data.meta["window"].to_numpy().astype(float)
            return np.tile(self.means_.mean().to_numpy(), (len(data), 1)) * (1 + 0 * w[:, None])

    # reads `window` without changing its output when it is permuted: the removal still fails it
    with pytest.raises(AssertionError, match=r"predict failed when the meta columns .* were removed"):
        checks.check_withheld_meta(_WindowReader)


# ------------------------------------------------------------------ the validation part, declared
class _EarlyStopper(BaseMethod):
    """Test double that uses the validation part (shrinks towards its mean) while declaring
    that it does not."""

    family, paper = "reference", "test double"
    uses_validation = False

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, train, val=None):
        self.mean_ = train.labels.mean(axis=0) if val is None else val.labels.mean(axis=0)
        return self

    def predict(self, data):
        return np.tile(self.mean_, (len(data), 1))


def test_a_method_that_uses_validation_while_declaring_it_does_not_is_caught(monkeypatch):
    with pytest.raises(AssertionError, match="_EarlyStopper: declares that it does not use the validation"):
        checks.check_ignores_validation(_EarlyStopper)
    monkeypatch.setattr(_EarlyStopper, "uses_validation", True)  # declared honestly: not checked
    checks.check_ignores_validation(_EarlyStopper)


def test_the_built_in_methods_declare_their_use_of_the_validation_part():
    from methods.registry import MethodSpec

    merged = {n for n, cls in CLASSES.items()
              if not MethodSpec(n).build("smoke", random_state=0).needs_validation()}
    assert {"prior", "oracle", "aa-knn", "pt-svm", "ldl-lrr"} <= merged
    assert not merged & {"maet", "carat", "tlr-dl", "sa-cpnn", "mpcl"}
    # the deep methods' paper preset does not early-stop, so it trains on train + val
    assert not MethodSpec("maet").build("paper", random_state=0).needs_validation()
