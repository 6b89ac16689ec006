"""TLR-DL on the real data of issue 14: where it beat the prior once fixed, and where it still
loses (documented, reproduced here so the failure is never silent)."""
import numpy as np
import pytest
from conftest import shared_data

from datasets import load_dataset
from methods.registry import MethodSpec
from protocols import get_splitter
from reports.metrics import evaluate

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
    folds = get_splitter("subject-dependent")(data.meta, seed=0, group="window")
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


def test_tlr_survives_the_top_of_its_ridge_grid_under_per_subject_normalisation():
    """Per-subject-normalised wesad-e4 LOSO, test subject S11: the validation split prefers the
    strongest shrinkage (λ_W = 1e5, the labels are unpredictable across subjects), where the
    ADMM diverges after its first iterations. Its last iterate predicted near one-hot rows
    (KL 4.37 against the prior's ~.07); the lowest-objective iterate stays near the prior."""
    from datasets.normalize import normalize_features

    data = normalize_features(load_dataset("wesad-e4", data_root=shared_data("wesad_e4")), "subject")
    fold = next(f for f in get_splitter("loso")(data.meta) if f.block == "S11")
    train, val, test = (data.subset(i) for i in (fold.train, fold.val, fold.test))
    tlr = MethodSpec("tlr-dl").build("quick", random_state=0).fit(train, val)
    prior = MethodSpec("prior").build("quick").fit(train, val)
    kl_tlr = evaluate(test.labels, tlr.predict(test))["kl"]
    kl_prior = evaluate(test.labels, prior.predict(test))["kl"]
    assert max(h["objective"] for h in tlr.history_) > 100 * min(h["objective"] for h in tlr.history_)
    assert kl_tlr < 1.5 * kl_prior, (kl_tlr, kl_prior)
