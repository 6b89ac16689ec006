"""libsvm's probability outputs (``svm-train -b 1``), computed around scikit-learn's SVC.

libsvm turns a one-vs-one C-SVC into class probabilities in three steps (Chang & Lin, LIBSVM
paper, section 8): for every pair of classes, decision values from a 5-fold cross-validation
of that pair's binary SVC, to which a sigmoid is fitted (Platt, 1999, with the Newton method
of Lin, Lin & Weng, 2007); at prediction, the sigmoids of the final model's pairwise decision
values, coupled into one distribution (Wu, Lin & Weng, 2004, method 2).

Why here rather than ``SVC(probability=True)``: libsvm can only receive repeated examples as
rows, and PT-SVM's resampled training set repeats (instance, label) pairs (~40 % of the draws
on wesad-e4). A C-SVC on k copies of an example is the same problem as one example whose C is
k times larger (its dual variables add up to one bounded by k·C), which scikit-learn accepts as
``sample_weight``; its decision values agree with the copied problem's up to the solver's
tolerance. The cross-validation must still split *draws*, as libsvm does, not distinct pairs:
holding out every copy of a pair at once is a different calibration (measured on a wesad-e4
LOSO fold, Chebyshev .103 against .078). So the folds are drawn here, over the draws, and each
fold's training part is compressed to weighted distinct pairs before it is fitted.
"""
from __future__ import annotations

import numpy as np
from sklearn.svm import SVC

N_FOLDS = 5
MIN_PROB = 1e-7  # libsvm's clip of a pairwise probability


def class_pairs(n_classes: int) -> list[tuple[int, int]]:
    """One-vs-one pairs in libsvm's order: (0,1), (0,2), ... ."""
    return [(a, b) for a in range(n_classes) for b in range(a + 1, n_classes)]


class BinarySVC:
    """libsvm's C-SVC of one pair of classes, on draws with their copies merged.

    ``instance`` indexes the rows of ``kernel`` (the Gram matrix of the distinct instances) and
    ``first`` says which draws belong to the pair's first class. Each distinct (class, instance)
    draw is fitted once with C multiplied by its number of copies, the same problem as libsvm's
    on the copies; its Gram matrix is the pair's alone (~1,700² on a wesad-e4 LOSO fold, against
    12,500² for one multi-class fit on the copies, whose first touch is slow on a virtual
    machine). With one class (or none) among the draws it is libsvm's constant: +1 towards the
    first class, -1 towards the second, 0.
    """

    def __init__(self, kernel: np.ndarray, instance: np.ndarray, first: np.ndarray, C: float) -> None:
        # Distinct (class, instance) draws as one integer each, sorted by class, then instance.
        # Flat keys and take() rather than unique(axis=0) and np.ix_: the same rows in the same
        # order, 11 -> 4.4 ms per pair on a wesad-e4 LOSO fold (216 pairs and folds per fit).
        n = len(kernel)
        keys, counts = np.unique((~first).astype(np.int64) * n + instance, return_counts=True)
        self.instance, second = keys % n, keys // n
        self.svc, self.constant = None, float(first.any()) - float((~first).any())
        if first.any() and (~first).any():
            self.svc = SVC(kernel="precomputed", C=C).fit(
                kernel.take(self.instance, axis=0).take(self.instance, axis=1), second,
                sample_weight=counts.astype(np.float64))

    def decision(self, kernel_rows: np.ndarray) -> np.ndarray:
        """Decision values, positive towards the first class (libsvm's sign; scikit-learn's
        binary SVC is positive towards its second class), of points whose kernel against the
        distinct instances is ``kernel_rows``."""
        if self.svc is None:
            return np.full(len(kernel_rows), self.constant)
        return -self.svc.decision_function(kernel_rows.take(self.instance, axis=1))


def cross_validated_decision(kernel: np.ndarray, instance: np.ndarray, first: np.ndarray, C: float,
                             rng: np.random.Generator, n_folds: int = N_FOLDS) -> np.ndarray:
    """Each draw's decision value from a `BinarySVC` fitted without its fold: libsvm's
    ``svm_binary_svc_probability`` (the pair's draws shuffled and cut into ``n_folds`` equal
    blocks of draws, so copies of one pair may sit on both sides of a fold, as in libsvm)."""
    n = len(instance)
    perm, dec = rng.permutation(n), np.empty(n)
    for f in range(n_folds):
        held = perm[f * n // n_folds:(f + 1) * n // n_folds]
        fit = np.ones(n, dtype=bool)
        fit[held] = False
        dec[held] = BinarySVC(kernel, instance[fit], first[fit], C).decision(kernel[instance[held]])
    return dec


def sigmoid_predict(dec: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """P(first class of the pair | decision value) = 1 / (1 + exp(dec·A + B)), computed without
    overflow on either side (libsvm's ``sigmoid_predict``)."""
    f = dec * a + b
    e = np.exp(-np.abs(f))
    return np.where(f >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def _sigmoid_nll(dec: np.ndarray, t: np.ndarray, a: float, b: float) -> float:
    f = dec * a + b
    return float(np.sum(np.where(f >= 0, t * f, (t - 1) * f) + np.log1p(np.exp(-np.abs(f)))))


def sigmoid_train(dec: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid fitted to decision values ``dec`` of examples whose label is the pair's
    first class where ``positive``: libsvm's ``sigmoid_train`` (Lin, Lin & Weng, 2007):
    regularised targets, Newton steps on (A, B) with a backtracking line search, the same
    constants (100 iterations, step ≥ 1e-10, Hessian + 1e-12·I, gradient < 1e-5)."""
    dec = np.asarray(dec, dtype=np.float64)
    prior1 = float(np.count_nonzero(positive))
    prior0 = float(len(dec) - prior1)
    t = np.where(positive, (prior1 + 1.0) / (prior1 + 2.0), 1.0 / (prior0 + 2.0))
    a, b = 0.0, float(np.log((prior0 + 1.0) / (prior1 + 1.0)))
    fval = _sigmoid_nll(dec, t, a, b)
    for _ in range(100):
        p = sigmoid_predict(dec, a, b)
        d2 = p * (1.0 - p)
        h11 = 1e-12 + float(np.sum(dec * dec * d2))
        h22 = 1e-12 + float(np.sum(d2))
        h21 = float(np.sum(dec * d2))
        d1 = t - p
        g1, g2 = float(np.sum(dec * d1)), float(np.sum(d1))
        if abs(g1) < 1e-5 and abs(g2) < 1e-5:
            break
        det = h11 * h22 - h21 * h21
        da, db = -(h22 * g1 - h21 * g2) / det, -(-h21 * g1 + h11 * g2) / det
        gd, step = g1 * da + g2 * db, 1.0
        while step >= 1e-10:
            new_a, new_b = a + step * da, b + step * db
            new_f = _sigmoid_nll(dec, t, new_a, new_b)
            if new_f < fval + 1e-4 * step * gd:
                a, b, fval = new_a, new_b, new_f
                break
            step /= 2.0
        if step < 1e-10:
            break  # libsvm: "line search fails"; keeps the last (A, B)
    return a, b


def pairwise_probabilities(dec: np.ndarray, a: np.ndarray, b: np.ndarray, n_classes: int) -> np.ndarray:
    """r (n, k, k): r[:, i, j] = P(i | i or j) from one-vs-one decision values (n, n_pairs),
    clipped to [1e-7, 1 - 1e-7] as libsvm does."""
    r = np.zeros((len(dec), n_classes, n_classes))
    for k, (i, j) in enumerate(class_pairs(n_classes)):
        r[:, i, j] = np.clip(sigmoid_predict(dec[:, k], a[k], b[k]), MIN_PROB, 1 - MIN_PROB)
        r[:, j, i] = 1.0 - r[:, i, j]
    return r


def couple(r: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) from pairwise ones (Wu, Lin & Weng 2004, method 2; libsvm's
    ``multiclass_probability``): minimise Σ_i Σ_{j≠i} (r_ji p_i − r_ij p_j)² on the simplex by
    its coordinate fixed-point iteration, stopping a row when every |(Qp)_t − pᵀQp| < 0.005/k.
    Rows are iterated together; a row that has converged is left as it is. Two classes are
    iterated too, as scikit-learn's libsvm does (its p stops within the tolerance of
    (r_01, r_10), not at it)."""
    n, k = r.shape[:2]
    rt = np.swapaxes(r, 1, 2)  # rt[:, t, j] = r[:, j, t]
    q = -rt * r  # off-diagonal: Q_tj = -r_jt r_tj
    idx = np.arange(k)
    q[:, idx, idx] = np.sum(rt ** 2, axis=2)  # Q_tt = Σ_j r_jt² (r_tt = 0)
    p = np.full((n, k), 1.0 / k)
    active = np.ones(n, dtype=bool)
    for _ in range(max(100, k)):
        qp = np.einsum("ntj,nj->nt", q, p)
        pqp = np.sum(p * qp, axis=1)
        active &= np.max(np.abs(qp - pqp[:, None]), axis=1) >= 0.005 / k
        if not active.any():
            break
        rows = np.flatnonzero(active)
        qa, pa, qpa, pqpa = q[rows], p[rows], qp[rows], pqp[rows]
        for t in range(k):
            diff = (-qpa[:, t] + pqpa) / qa[:, t, t]
            pa[:, t] += diff
            scale = 1.0 + diff
            pqpa = (pqpa + diff * (diff * qa[:, t, t] + 2 * qpa[:, t])) / scale / scale
            qpa = (qpa + diff[:, None] * qa[:, t, :]) / scale[:, None]
            pa /= scale[:, None]
        p[rows] = pa
    return p
