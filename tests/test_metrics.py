"""Metrics against values worked out by hand."""
import numpy as np
import pytest

from core.metrics import EPS, HIGHER_IS_BETTER, evaluate, per_sample

D = np.array([[0.5, 0.3, 0.2]])
P = np.array([[0.4, 0.4, 0.2]])


def test_hand_values():
    m = evaluate(D, P)
    assert m["chebyshev"] == pytest.approx(0.1)
    # Clark: sqrt((0.1/0.9)^2 + (0.1/0.7)^2 + 0)
    assert m["clark"] == pytest.approx(np.sqrt((1 / 9) ** 2 + (1 / 7) ** 2))
    assert m["canberra"] == pytest.approx(1 / 9 + 1 / 7)
    assert m["kl"] == pytest.approx(0.5 * np.log(0.5 / 0.4) + 0.3 * np.log(0.3 / 0.4))
    assert m["cosine"] == pytest.approx(0.36 / (np.sqrt(0.38) * np.sqrt(0.36)))
    assert m["intersection"] == pytest.approx(0.9)


def test_zero_handling_is_finite():
    d = np.array([[1.0, 0.0]])
    p = np.array([[0.0, 1.0]])
    m = evaluate(d, p)
    assert np.isfinite(list(m.values())).all()
    assert m["kl"] == pytest.approx(-np.log(EPS))
    assert evaluate(d, d)["kl"] == 0.0
    # a correct zero is perfect in Clark and Canberra (0 vs 0 is 0, not 0/0 and not 1)
    assert evaluate(d, d)["clark"] == 0.0 and evaluate(d, d)["canberra"] == 0.0
    # a wrong zero: each of the two terms is ((1 - EPS) / (1 + EPS))^2 ~ 1
    assert m["clark"] == pytest.approx(np.sqrt(2)) and m["canberra"] == pytest.approx(2.0)


def test_zero_conventions_beside_reference_computations():
    """KL is scipy's rel_entr with the prediction clipped to [EPS, 1] (truth exact: 0 log 0 = 0);
    Clark and Canberra clip both sides, as PyLDL does (with its own, smaller epsilon)."""
    from scipy.special import rel_entr

    rng = np.random.default_rng(0)
    d = rng.dirichlet(np.full(6, 0.5), size=50)
    p = rng.dirichlet(np.full(6, 0.5), size=50)
    d[::3, 0], p[::4, 0], p[::5, 1] = 0.0, 0.0, 0.0  # exact zeros on both sides, some shared
    d /= d.sum(axis=1, keepdims=True)
    p /= p.sum(axis=1, keepdims=True)
    ps = per_sample(d, p)
    np.testing.assert_allclose(ps["kl"], rel_entr(d, np.clip(p, EPS, 1)).sum(axis=1), rtol=1e-12)
    dc, pc = np.clip(d, EPS, 1), np.clip(p, EPS, 1)
    np.testing.assert_allclose(ps["clark"], np.sqrt((((dc - pc) / (dc + pc)) ** 2).sum(axis=1)))
    np.testing.assert_allclose(ps["canberra"], (np.abs(dc - pc) / (dc + pc)).sum(axis=1))
    # by hand: zero truth costs nothing in KL, whatever is predicted there
    assert evaluate(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))["kl"] == pytest.approx(np.log(2))


def test_per_sample_and_directions():
    ps = per_sample(np.vstack([D, D]), np.vstack([P, D]))
    assert ps["chebyshev"].tolist() == pytest.approx([0.1, 0.0])
    assert HIGHER_IS_BETTER == {"chebyshev": False, "clark": False, "canberra": False, "kl": False,
                                "cosine": True, "intersection": True}
    with pytest.raises(ValueError, match="shape"):
        per_sample(D, P[:, :2])
