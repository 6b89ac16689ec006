"""Metrics against values worked out by hand."""
import numpy as np
import pytest

from reports.metrics import EPS, HIGHER_IS_BETTER, evaluate, per_sample

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
    # clipping the prediction (not the truth) makes a zero truth entry cost 1 in Clark
    assert evaluate(d, d)["clark"] == pytest.approx(1.0)


def test_per_sample_and_directions():
    ps = per_sample(np.vstack([D, D]), np.vstack([P, D]))
    assert ps["chebyshev"].tolist() == pytest.approx([0.1, 0.0])
    assert HIGHER_IS_BETTER == {"chebyshev": False, "clark": False, "canberra": False, "kl": False,
                                "cosine": True, "intersection": True}
    with pytest.raises(ValueError, match="shape"):
        per_sample(D, P[:, :2])
