"""The math of the classical LDL baselines on hand-made cases, and each beats the prior on SJAFFE."""
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import shared_data

from datasets import load_dataset
from datasets.base import FeatureSet
from methods.cad import cad_loss
from methods.ldl_lrr import ranking_loss, ranking_targets
from methods.ldl_utils import project_simplex, stratified_subsample
from methods.pt_svm import PTSVM, resample_single_labels
from methods.registry import MethodSpec
from methods.sa_cpnn import CPNNNet, RpropPlus
from methods.tlr_dl import TLRDL, binarize, ridge_lambda
from protocols import get_splitter
from core.metrics import evaluate

CLASSICAL = ("pt-svm", "sa-cpnn", "ldl-lrr", "tlr-dl", "cad")


def _featureset(x, labels, subjects=None):
    n = len(x)
    meta = pd.DataFrame({"subject": subjects if subjects is not None else 0,
                         "trial": np.arange(n), "window": 0})
    c = labels.shape[1]
    return FeatureSet({"f": x}, {"f": "primary"}, labels, [f"e{j}" for j in range(c)],
                      np.ones(c, dtype=int), meta)


# ---------------------------------------------------------------- PT-SVM
def test_resampling_reproduces_label_frequencies():
    d = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    inst, lab = resample_single_labels(d, 100_000, np.random.default_rng(0))
    counts = np.zeros_like(d)
    np.add.at(counts, (inst, lab), 1)
    np.testing.assert_allclose(counts.sum(axis=1) / 300_000, 1 / 3, atol=0.005)
    np.testing.assert_allclose(counts / counts.sum(axis=1, keepdims=True), d, atol=0.01)
    assert counts[1, 0] == 0, "a label with zero mass is never drawn"


def test_pt_svm_gives_zero_to_a_label_never_sampled():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    labels = np.zeros((40, 4))
    labels[:, 0] = (x[:, 0] > 0) * 0.6 + 0.2
    labels[:, 1] = 1 - labels[:, 0]  # labels 2 and 3 never have mass
    data = _featureset(x, labels)
    p = PTSVM(random_state=0).fit(data).predict(data)
    assert (p[:, 2:] == 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.corrcoef(p[:, 0], labels[:, 0])[0, 1] > 0.5


@pytest.mark.parametrize("n_labels, kept", [(4, 100), (8, 50)])
def test_pt_svm_caps_resampled_examples_not_instances(n_labels, kept):
    """The cap counts resampled examples (what the SVC's cost grows with): more labels per
    instance leave room for fewer instances, still stratified by subject."""
    rng = np.random.default_rng(2)
    subjects = np.repeat([0, 1, 2], 100)
    data = _featureset(rng.standard_normal((300, 3)), rng.dirichlet(np.ones(n_labels), size=300),
                       subjects)
    model = PTSVM(max_draws=400, random_state=0).fit(data)
    assert model.n_train_used_ == kept and model.n_draws_ == kept * n_labels
    assert model.predict(data).shape == (300, n_labels)
    assert PTSVM(max_draws=None, random_state=0).fit(data).n_train_used_ == 300


@pytest.mark.filterwarnings("ignore::FutureWarning")  # probability=True is the reference here
@pytest.mark.parametrize("n_classes", [2, 3, 9])
def test_pairwise_coupling_is_libsvms(n_classes):
    """libsvm's -b 1 prediction, rebuilt: its own fitted sigmoids (probA_, probB_) applied to its
    one-vs-one decision values and coupled give scikit-learn's predict_proba to rounding (while
    the pinned scikit-learn still has probability=True, deprecated in 1.9)."""
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC
    from methods.svm_probability import couple, pairwise_probabilities

    x, y = make_classification(300, 8, n_informative=6, n_classes=n_classes, random_state=n_classes)
    svc = SVC(probability=True, decision_function_shape="ovo", random_state=0).fit(x[:200], y[:200])
    dec = svc.decision_function(x[200:]).reshape(100, -1)
    dec = -dec if n_classes == 2 else dec  # scikit-learn's binary sign is libsvm's negated
    p = couple(pairwise_probabilities(dec, svc.probA_, svc.probB_, n_classes))
    np.testing.assert_allclose(p, svc.predict_proba(x[200:]), atol=1e-9)


def test_sigmoid_train_reaches_the_regularised_likelihood_optimum():
    """libsvm's Newton method for Platt's sigmoid ends where a general optimiser does."""
    from scipy.optimize import minimize
    from methods.svm_probability import sigmoid_predict, sigmoid_train

    rng = np.random.default_rng(0)
    positive = rng.random(500) < 0.3
    dec = np.where(positive, 0.8, -0.6) + rng.standard_normal(500)
    n1, n0 = positive.sum(), (~positive).sum()
    t = np.where(positive, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))

    def nll(ab):
        p = np.clip(sigmoid_predict(dec, *ab), 1e-300, 1)
        q = np.clip(1 - sigmoid_predict(dec, *ab), 1e-300, 1)
        return -np.sum(t * np.log(p) + (1 - t) * np.log(q))

    a, b = sigmoid_train(dec, positive)
    ref = minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}).x
    np.testing.assert_allclose([a, b], ref, atol=1e-4)
    assert a < 0, "a larger decision value means the first class: P = 1 / (1 + exp(A f + B))"


def test_merged_copies_give_the_svm_of_the_copies():
    """A (class, instance) pair drawn k times, fitted once with k·C, is libsvm's problem on the k
    copies: the decision values agree to the solver's tolerance."""
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.svm import SVC
    from methods.svm_probability import BinarySVC

    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 4))
    kernel = rbf_kernel(x, gamma=0.25)
    instance = rng.integers(0, 60, 400)
    first = rng.random(400) < 1 / (1 + np.exp(-2 * x[instance, 0]))
    merged = BinarySVC(kernel, instance, first, C=2.0)
    assert len(merged.instance) < 400, "the draws repeat pairs: something was merged"
    copies = SVC(kernel="precomputed", C=2.0).fit(kernel[np.ix_(instance, instance)], ~first)
    np.testing.assert_allclose(merged.decision(kernel), -copies.decision_function(kernel[:, instance]),
                               atol=5e-3)


def test_stratified_subsample_keeps_subject_shares():
    rng = np.random.default_rng(1)
    subjects = np.repeat([0, 1, 2, 3], [100, 100, 50, 50])
    labels = rng.dirichlet(np.ones(4), size=300)
    data = _featureset(rng.standard_normal((300, 2)), labels, subjects)
    idx = stratified_subsample(data, 60, np.random.default_rng(0))
    assert len(idx) == 60 and len(np.unique(idx)) == 60
    np.testing.assert_array_equal(np.bincount(subjects[idx]), [20, 20, 10, 10])
    assert len(stratified_subsample(data, None, rng)) == 300


# ---------------------------------------------------------------- SA-CPNN
@pytest.mark.parametrize("encoding", ["onehot", "numeric"])
def test_cpnn_normalised_and_gradient_matches_finite_differences(encoding):
    torch.manual_seed(0)
    net = CPNNNet(n_features=3, n_labels=4, hidden=5, encoding=encoding, init=0.5).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    d = torch.distributions.Dirichlet(torch.ones(4)).sample((6,)).double()
    p = torch.softmax(net(x), dim=1)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(6, dtype=torch.float64))

    def loss():
        return -(d * torch.log_softmax(net(x), dim=1)).sum()

    net.zero_grad()
    loss().backward()
    h = 1e-6
    for param in net.parameters():
        flat, grad = param.data.view(-1), param.grad.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = loss().item()
            flat[i] = old - h
            down = loss().item()
            flat[i] = old
            assert abs((up - down) / (2 * h) - grad[i].item()) < 1e-6


def test_cpnn_numeric_encoding_feeds_the_label_index():
    net = CPNNNet(2, 3, 4, "numeric", "torch")
    np.testing.assert_array_equal(net.label_code.numpy().ravel(), [1, 2, 3])


def _rprop_path(optimizer_cls, grads):
    w = torch.zeros(1, requires_grad=True)
    opt = optimizer_cls([w], lr=0.1, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    path = []
    for g in grads:
        w.grad = torch.tensor([g])
        opt.step()
        path.append(round(w.item(), 6))
    return path


def test_rprop_plus_backtracks_where_torch_irprop_minus_skips():
    # Steps 0.1, 0.12; the sign flips: Rprop+ undoes the last step (+0.12) and halves Δ to
    # 0.06, which the next step uses; iRprop- only skips the update.
    grads = [1.0, 1.0, -1.0, -1.0]
    assert _rprop_path(RpropPlus, grads) == [-0.1, -0.22, -0.1, -0.04]
    assert _rprop_path(torch.optim.Rprop, grads) == [-0.1, -0.22, -0.22, -0.16]


# ---------------------------------------------------------------- LDL-LRR
def test_lrr_ranking_term_matches_hand_computation():
    d = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
    d_hat = torch.tensor([[0.4, 0.4, 0.2]], dtype=torch.float64)
    p, w = ranking_targets(d)
    assert p[0, 0, 1] == 1 and p[0, 1, 0] == 0, "any positive gap ranks (PyLDL 0.1.0 needs > 0.5)"
    # Pairs (0,1) and (1,0): weight 0.2² = 0.04, P̂ = σ(0) = 0.5, loss −log 0.5 each. Pairs with
    # label 2: gaps 0.2 → P̂ = σ(±20), loss log(1 + e^−20) each, weights 0.09 and 0.01.
    tiny = np.log1p(np.exp(-20.0))
    expected = 2 * 0.04 * np.log(2) + 2 * 0.09 * tiny + 2 * 0.01 * tiny
    assert ranking_loss(d_hat, p, w, scale=100.0).item() == pytest.approx(expected, rel=1e-9)


def test_lrr_ties_target_one_half():
    p, w = ranking_targets(torch.tensor([[0.4, 0.4, 0.2]], dtype=torch.float64))
    assert p[0, 0, 1] == 0.5 and p[0, 1, 0] == 0.5 and w[0, 0, 1] == 0


# ---------------------------------------------------------------- TLR-DL
def test_tlr_objective_decreases_over_admm_iterations():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 6))
    labels = np.exp(x[:, :4] @ rng.standard_normal((4, 5)) * 0.5)
    labels /= labels.sum(axis=1, keepdims=True)
    m = TLRDL(lam=1e-1, max_iter=60, tol=0, random_state=0).fit(_featureset(x, labels))
    obj = np.array([h["objective"] for h in m.history_])
    assert obj[-1] < 0.5 * obj[0]
    assert (np.diff(obj[5:]) <= 1e-6 * obj[5:-1]).mean() > 0.9, "decreasing once ADMM settles"
    assert m.history_[-1]["residual"] < 1e-3, "G = AO at convergence"


def test_tlr_steps_stay_accurate_when_a_is_rank_deficient():
    """Issue 20. Three distinct label rows among nine labels (a trial split) make A = WᵀXᵀ of
    rank 3 after the ridge start, so M reaches ~5e3 and the W-system has a huge rank-C term.
    The O- and W-steps must still match a dense solve of their defining systems; the former
    Woodbury form was off by ~1e-2 relative here (on real data: by 100 %)."""
    from scipy.linalg import cholesky, solve

    from methods.tlr_dl import singular_value_threshold
    rng = np.random.default_rng(0)
    n, p, c = 150, 40, 9
    x = np.hstack([rng.standard_normal((n, p - 1)), np.ones((n, 1))])
    d = rng.dirichlet(np.ones(c), size=3)[rng.integers(0, 3, n)]
    lab = binarize(d)
    lam_o, mu = 1e-4, 1e-3
    r = x.T @ x + 6.0 * np.diag(np.r_[np.ones(p - 1), 0.0])
    a = solve(r, x.T @ d, assume_a="pos").T @ x.T
    assert np.linalg.matrix_rank(a) == 3
    g = gamma = np.ones((c, n))
    target = mu * g + lab.T - gamma
    m, ao = TLRDL._o_step(a, target, mu, lam_o)
    m_ref = np.linalg.solve((1 + mu) * a @ a.T + 2 * lam_o * np.eye(c), target)
    assert np.abs(m).max() > 1e3
    np.testing.assert_allclose(m, m_ref, rtol=0, atol=1e-8 * np.abs(m_ref).max())
    np.testing.assert_allclose(ao, a @ a.T @ m_ref, rtol=0, atol=1e-8)
    g = singular_value_threshold(ao + gamma / mu, 1e-3 / mu)
    gamma = gamma + mu * (ao - g)
    mu *= 1.1
    target, ax = mu * g + lab.T - gamma, a @ x
    h = r + (1 + mu) * (ax.T @ m) @ (m.T @ ax)
    w_ref = solve(h, (d.T @ x + (target @ m.T) @ ax).T, assume_a="pos")
    w = TLRDL._w_step(cholesky(r, lower=True), d.T @ x, target, ax, m, mu)
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-8 * np.abs(w_ref).max())


def test_tlr_o_change_by_blocks_equals_the_dense_difference():
    """The convergence test's O part, computed by row blocks from the factors, gives exactly
    the maximum of the dense |AᵀM − O_prev| for each form of the previous O (n not a multiple
    of the block, so the last block is partial)."""
    rng = np.random.default_rng(3)
    c, n = 4, 601
    a, m, a0, m0 = (rng.standard_normal((c, n)) for _ in range(4))
    start = rng.random((n, n))
    dense = a.T @ m
    assert TLRDL._o_change(a, m, (a0, m0), block=64) == np.abs(dense - a0.T @ m0).max()
    assert TLRDL._o_change(a, m, start, block=64) == np.abs(dense - start).max()
    assert TLRDL._o_change(a, m, None, block=64) == np.abs(dense).max()


def test_tlr_keeps_the_last_iterate_within_slack_of_the_lowest_objective():
    hist = [{"objective": v} for v in (900.0, 5.0, 3.0, 3.0 + 1e-9, 3.0 + 2e-9, 4.0)]
    assert TLRDL.selected_iteration(hist) == 4, "ties at rounding level go to the later iterate"
    assert TLRDL.selected_iteration(hist[:3]) == 2
    assert TLRDL.selected_iteration([{"objective": v} for v in (9.0, 2.0, 7.0)]) == 1


def test_ridge_lambda_loo_matches_refitting_without_each_sample():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 5))
    d = rng.dirichlet(np.ones(3), size=30)
    grid = np.array([0.01, 1.0, 100.0])

    def brute(lam):  # ridge with an unshrunk bias, refitted n times
        err = 0.0
        for i in range(30):
            keep = np.arange(30) != i
            xm, dm = x[keep].mean(0), d[keep].mean(0)
            xc = x[keep] - xm
            w = np.linalg.solve(xc.T @ xc + 2 * lam * np.eye(5), xc.T @ (d[keep] - dm))
            err += np.sum(((x[i] - xm) @ w + dm - d[i]) ** 2)
        return err
    assert ridge_lambda(x, d, grid) == grid[np.argmin([brute(lam) for lam in grid])]
    # A validation part with pure-noise targets prefers the strongest shrinkage.
    assert ridge_lambda(x, d, grid, rng.standard_normal((20, 5)), rng.dirichlet(np.ones(3), 20)) == 100.0


def test_tlr_heavy_shrinkage_tends_to_the_prior_not_the_uniform():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4))
    labels = rng.dirichlet([8.0, 2.0, 1.0], size=60)
    data = _featureset(x, labels)
    p = TLRDL(lam=1e4, max_iter=30, random_state=0).fit(data).predict(data)
    np.testing.assert_allclose(p, np.tile(labels.mean(axis=0), (60, 1)), atol=0.03)  # uniform: 0.38 off


def test_projection_lands_on_the_simplex_at_the_nearest_point():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 6)) * 2
    p = project_simplex(v)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    q = rng.dirichlet(np.ones(6), size=(200, 50))  # other simplex points are never closer
    assert (np.linalg.norm(v - p, axis=1) <= np.linalg.norm(v - q, axis=2).min(axis=0) + 1e-12).all()
    np.testing.assert_allclose(project_simplex(np.array([[0.2, 0.3, 0.5]])), [[0.2, 0.3, 0.5]])
    floored = project_simplex(v, floor=0.01)
    assert floored.min() >= 0.01 - 1e-12
    np.testing.assert_allclose(floored.sum(axis=1), 1.0)


def test_binarize_threshold_and_topk():
    d = np.array([[0.1, 0.5, 0.3, 0.1], [0.3, 0.3, 0.2, 0.2]])
    np.testing.assert_array_equal(binarize(d, "threshold"), [[0, 1, 0, 0], [1, 1, 0, 0]])
    np.testing.assert_array_equal(binarize(d, "topk"), [[0, 1, 1, 0], [1, 1, 0, 0]])


# ---------------------------------------------------------------- CAD
def test_cad_loss_matches_hand_computation():
    d = torch.tensor([[0.2, 0.3, 0.5]])
    p = torch.tensor([[0.5, 0.3, 0.2]])
    # F = (0.2, 0.5, 1), F̂ = (0.5, 0.8, 1): |ΔF| = (0.3, 0.3, 0).
    assert cad_loss(p, d, "emd").item() == pytest.approx(0.6)
    # Σ_i (1/i) Σ_{j≤i} |ΔF_j| = 0.3 + 0.6/2 + 0.6/3
    assert cad_loss(p, d, "harmonic").item() == pytest.approx(0.8)
    assert cad_loss(d, d, "harmonic").item() == 0


# ---------------------------------------------------------------- real data
def test_every_classical_method_beats_prior_on_sjaffe():
    data = load_dataset("ldl:SJAFFE", data_root=shared_data("ldl"))
    folds = get_splitter("kfold")(data.meta, seed=0, n_splits=10)[:3]
    kl = {name: [] for name in ("prior", *CLASSICAL)}
    for f in folds:
        train, val, test = data.subset(f.train), data.subset(f.val), data.subset(f.test)
        for name in kl:
            m = MethodSpec(name).build("smoke", random_state=0).fit(train, val)
            kl[name].append(evaluate(test.labels, m.predict(test))["kl"])
    means = {k: float(np.mean(v)) for k, v in kl.items()}
    for name in CLASSICAL:
        assert means[name] < means["prior"], means


@pytest.mark.parametrize("name", ["sa-cpnn", "cad"])
def test_rounding_sensitive_trainers_run_in_float64(name):
    """SA-CPNN's Rprop decides on gradient signs and CAD's Adam grows rounding differences over
    its epochs: in float32 both depended on the math kernel (docs/reproducibility.md). They train, and
    initialise their weights, in float64; the default dtype is restored afterwards."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5))
    labels = rng.dirichlet(np.ones(3), size=40)
    m = MethodSpec(name).build("smoke", random_state=0).set_params(epochs=2).fit(_featureset(x, labels))
    assert {p.dtype for p in m.network_.parameters()} == {torch.float64}
    assert torch.get_default_dtype() == torch.float32
