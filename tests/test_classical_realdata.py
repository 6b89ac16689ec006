"""TLR-DL on the real data of issue 14: where it beat the prior once fixed, and where it still
loses (documented, reproduced here so the failure is never silent)."""
import numpy as np
import pytest

from benchmark.registry import MethodSpec
from datasets import load_dataset
from protocols import get_splitter
from reports.metrics import evaluate
from conftest import shared_data

pytestmark = pytest.mark.realdata


def _scores(data, folds, name, **params):
    cheb, kl = [], []
    for f in folds:
        m = MethodSpec(name).build("quick", random_state=0).set_params(**params)
        test = data.subset(f.test)
        r = evaluate(test.labels, m.fit(data.subset(f.train), data.subset(f.val)).predict(test))
        cheb.append(r["chebyshev"])
        kl.append(r["kl"])
    return float(np.mean(cheb)), float(np.mean(kl))


def test_tlr_beats_the_prior_on_the_dmer_sample():
    # Before the fix (shrunk bias, λ_W = 1000): Chebyshev .1099 against the prior's .1024.
    data = load_dataset("dmer-sample", data_root=shared_data("dmer_sample"))
    folds = get_splitter("subject-dependent")(data.meta, seed=0)
    prior, tlr = _scores(data, folds, "prior"), _scores(data, folds, "tlr-dl")
    assert tlr[0] < 0.9 * prior[0] and tlr[1] < 0.9 * prior[1], (tlr, prior)


def test_tlr_on_wesad_e4_trial_split_still_loses_to_the_prior():
    """Documented failure. Holding out whole conditions, a linear map from wrist features
    extrapolates to a condition it never saw; AA-KNN loses to the prior there too. Five
    subjects keep the test short; on all 15, quick preset: TLR-DL Chebyshev .109 / KL .23
    against the prior's .092 / .113. With the paper's floor 0 the exact zeros of the simplex
    projection make the KL far worse (.58), which the default floor 1e-3 prevents."""
    data = load_dataset("wesad-e4", data_root=shared_data("wesad_e4"))
    folds = get_splitter("subject-dependent")(data.meta, seed=0, group="trial")[:5]
    prior = _scores(data, folds, "prior")
    tlr, tlr_no_floor = _scores(data, folds, "tlr-dl"), _scores(data, folds, "tlr-dl", floor=0.0)
    assert tlr[0] > prior[0] and tlr[1] > prior[1], "fixed? then update TLR-DL's docstring and this test"
    assert tlr_no_floor[1] > 1.5 * tlr[1], (tlr_no_floor, tlr)
