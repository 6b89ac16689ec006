"""TLR-DL on the real data (docs/methods/tlr-dl.md): where it beat the prior once fixed, and where it still
loses (documented, reproduced here so the failure is never silent)."""
import numpy as np
import pytest
from conftest import shared_data

from datasets import load_dataset
from methods.registry import MethodSpec
from methods.tlr_dl import TLRDL
from protocols import get_splitter
from core.metrics import evaluate

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
    folds = get_splitter("subject-dependent")(data.meta, seed=0, group="window", folds=1)
    prior, tlr = _scores(data, folds, "prior"), _scores(data, folds, "tlr-dl")
    assert tlr[0] < 0.9 * prior[0] and tlr[1] < 0.9 * prior[1], (tlr, prior)


def test_tlr_on_wesad_e4_trial_split_still_loses_to_the_prior():
    """Documented failure. Holding out whole conditions, a linear map from wrist features
    extrapolates to a condition it never saw; AA-KNN loses to the prior there too. Five
    subjects keep the test short: TLR-DL Chebyshev .1006 / KL .161 against the prior's
    .0890 / .0966 (on all 15, quick: .108 / .203 against .092 / .113). The paper's floor 0
    leaves exact zeros in the simplex projection, which the metrics clip to 1e-12: KL .199
    here (.465 on all 15) at the same Chebyshev; the default floor 1e-3 prevents that.

    Up to TLR-DL version 3 these figures depended on the BLAS kernel (KL .164 / .196 / .204
    with floor 1e-3 and .201 / .419 / .524 with floor 0 on SkylakeX / Haswell / Prescott,
    docs/reproducibility.md); since version 4 they agree across kernels to ~1e-6, far inside every margin
    asserted here (the closest: Chebyshev 13 % above the prior's, floor 0's KL 24 % above)."""
    data = load_dataset("wesad-e4", data_root=shared_data("wesad_e4"))
    folds = get_splitter("subject-dependent")(data.meta, seed=0, group="trial", folds=1)[:5]
    prior = _scores(data, folds, "prior")
    tlr, tlr_no_floor = _scores(data, folds, "tlr-dl"), _scores(data, folds, "tlr-dl", floor=0.0)
    assert tlr[0] > 1.05 * prior[0] and tlr[1] > 1.3 * prior[1], \
        ("fixed? then update TLR-DL's docstring and this test", tlr, prior)
    assert tlr_no_floor[1] > 1.1 * tlr[1], (tlr_no_floor, tlr)
    assert abs(tlr_no_floor[0] - tlr[0]) < 1e-3, (tlr_no_floor, tlr)


def test_tlr_admm_converges_at_the_top_of_its_ridge_grid_under_per_subject_normalisation():
    """Per-subject-normalised wesad-e4 LOSO, test subject S11: the validation split prefers the
    strongest shrinkage (λ_W = 1e5, the labels are unpredictable across subjects). Up to
    TLR-DL version 3 the ADMM diverged there (objective up to 1e11-1e15 depending on the BLAS
    kernel; its last iterate predicted near one-hot rows, KL 4.37 against the prior's ~.077):
    the Woodbury form of the W-step cancelled catastrophically (docs/reproducibility.md). With the stable
    steps the objective decreases from the second iterate on (G = Γ = 1 with μ = 1e-3 puts it
    at ~1.5e4-1.8e4 in the first two), the last iterate is kept, and it stays at the prior
    (KL .0756 against .0769)."""
    from datasets.normalize import normalize_features

    data = normalize_features(load_dataset("wesad-e4", data_root=shared_data("wesad_e4")), "subject")
    fold = next(f for f in get_splitter("loso")(data.meta) if f.block == "S11")
    train, val, test = (data.subset(i) for i in (fold.train, fold.val, fold.test))
    tlr = MethodSpec("tlr-dl").build("quick", random_state=0).fit(train, val)
    prior = MethodSpec("prior").build("quick").fit(train, val)
    kl_tlr = evaluate(test.labels, tlr.predict(test))["kl"]
    kl_prior = evaluate(test.labels, prior.predict(test))["kl"]
    assert tlr.lam_ == 1e5
    obj = np.array([h["objective"] for h in tlr.history_])
    assert (np.diff(obj[1:]) <= 1e-9 * obj[1:-1]).all(), "from the second iterate it never rises"
    assert TLRDL.selected_iteration(tlr.history_) == len(obj) - 1
    assert tlr.history_[-1]["change"] < tlr.tol, "stopped by its convergence test"
    assert kl_tlr < 1.1 * kl_prior, (kl_tlr, kl_prior)
