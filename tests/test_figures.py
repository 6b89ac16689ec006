"""Figure functions write readable images; correlation distance has hand-checkable values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from reports import figures


def assert_images(paths):
    png, pdf = paths
    assert png.suffix == ".png" and pdf.suffix == ".pdf"
    img = imread(png)
    assert img.ndim == 3 and min(img.shape[:2]) > 50
    assert img.std() > 0.01  # not a blank canvas
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000


def distributions(n: int, c: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(c), size=n)


def test_distributions_figure(tmp_path):
    truth = distributions(3, 5, 0)
    paths = figures.plot_distributions(truth, {"A": distributions(3, 5, 1), "B": truth},
                                       list("abcde"), tmp_path / "sub" / "dist")
    assert_images(paths)


def test_correlation_figure(tmp_path):
    truth, pred = distributions(40, 4, 0), distributions(40, 4, 1)
    groups = np.repeat(["s1", "s2"], 20)
    assert_images(figures.plot_correlations(truth, pred, groups, list("abcd"), tmp_path / "corr"))
    with pytest.raises(ValueError):
        figures.plot_correlations(truth[:2], pred[:2], groups[:2], list("abcd"), tmp_path / "x")


def test_hyperparameter_curves_numeric_and_categorical(tmp_path):
    rows = [{"K": k, "protocol": p, "metric": m, "mean": 0.1 * k + (p == "loso"), "std": 0.01}
            for k in (2, 4, 8) for p in ("subject-dependent", "loso")
            for m in ("kl", "cosine")]
    summary = pd.DataFrame(rows)
    assert_images(figures.plot_hyperparameter_curves(summary, "K", tmp_path / "k", hue="protocol",
                                                     metrics=("kl", "cosine")))
    summary["K"] = summary["K"].map({2: "{1,2}", 4: "{1,2,4}", 8: "{1,2,4,8}"})
    assert_images(figures.plot_hyperparameter_curves(summary, "K", tmp_path / "scales",
                                                     metrics=("kl",)))


def test_correlation_matrix_known_values():
    x = np.array([[1.0, 3.0, 5.0], [2.0, 2.0, 5.0], [3.0, 1.0, 5.0]])
    r = figures.correlation_matrix(x)
    assert r[0, 1] == pytest.approx(-1.0)
    assert r[0, 2] == 0.0 and r[1, 2] == 0.0  # constant column: no correlation
    np.testing.assert_allclose(np.diag(r), 1.0)
    np.testing.assert_allclose(r, r.T)


def test_correlation_distance_hand_computed():
    t = np.linspace(0, 1, 6)
    truth = np.column_stack([t, 1 - t])           # correlation -1
    pred = np.column_stack([t, 0.5 + t])           # correlation +1
    groups = np.repeat(["a", "b"], 3)
    # difference of the two 2x2 matrices is [[0, 2], [2, 0]]: Frobenius norm sqrt(8).
    assert figures.correlation_distance(truth, pred, groups) == pytest.approx(np.sqrt(8))
    assert figures.correlation_distance(truth, truth, groups) == pytest.approx(0.0)
    assert np.isnan(figures.correlation_distance(truth[:2], pred[:2], groups[:2]))


def test_job_predictions_and_correlation_row():
    labels = distributions(12, 3, 0)
    store = {"k1": {"pred": labels[:6], "test_index": np.arange(6), "truth": labels[:6]},
             "k2": {"pred": labels[6:], "test_index": np.arange(6, 12), "truth": labels[6:]},
             "k3": {"pred": np.full((6, 3), 1 / 3), "test_index": np.arange(6), "truth": labels[:6]}}
    rows = pd.DataFrame({"key": ["k1", "k2", "k3", "k4"], "label": ["A", "A", "Prior", "Prior"],
                         "block": ["0", "1", "0", "1"], "seed": 0,
                         "status": ["ok", "ok", "ok", "failed"]})
    jobs = figures.job_predictions(rows, store.__getitem__)
    assert [j.label for j in jobs] == ["A", "A", "Prior"]
    np.testing.assert_array_equal(jobs[1].truth, labels[6:])
    row = figures.correlation_row(jobs)[figures.CORRELATION_ROW]
    assert row["A"] == "0.0000"  # perfect predictions reproduce the correlations
    assert float(row["Prior"]) > 0


def test_pick_samples_spans_best_to_worst():
    truth = distributions(20, 4, 0)
    pred = truth.copy()
    pred[7] = distributions(1, 4, 5)[0]            # the only wrong sample
    idx = figures.pick_samples(truth, pred, n=3)
    assert len(idx) == 3 and len(set(idx)) == 3 and idx[-1] == 7


@pytest.mark.parametrize("n", [14, 25])
def test_every_column_has_its_own_style_and_none_looks_like_the_ground_truth(n):
    from matplotlib.colors import to_rgba

    styles = figures.series_styles([f"method {i}" for i in range(n)])
    looks = {(to_rgba(s["color"]), s["hatch"]) for s in styles.values()}
    assert len(looks) == n
    black = to_rgba(figures.GROUND_TRUTH_STYLE["color"])
    assert all(to_rgba(s["color"]) != black for s in styles.values())


def test_distributions_figure_with_ground_truth_and_fourteen_columns(tmp_path):
    truth = distributions(3, 9, 0)
    preds = {f"method {i}": distributions(3, 9, i + 1) for i in range(14)}
    assert_images(figures.plot_distributions(truth, preds, [f"e{i}" for i in range(9)],
                                             tmp_path / "dist14"))
