"""LDL-LRR (Jia et al., TKDE 2021): maximum entropy with a label-ranking-relation loss."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from datasets.base import FeatureSet

from .base import BaseMethod, ConcatFeatures, normalise_rows
from core.params import Int, Real
from .registry import register

PROB_CLIP = 1e-9  # P̂ is clipped to [1e-9, 1] before its log, as in the reference code


def ranking_targets(d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """P_ijk = 1 if d_ij > d_ik, 0 if <, 0.5 on ties; w_ijk = (d_ij - d_ik)². Shapes (n, C, C)."""
    diff = d[:, :, None] - d[:, None, :]
    p = torch.where(diff > 0, 1.0, torch.where(diff < 0, 0.0, 0.5)).to(d.dtype)
    return p, diff.square()


def ranking_loss(d_hat: torch.Tensor, p: torch.Tensor, w: torch.Tensor,
                 scale: float = 100.0) -> torch.Tensor:
    """Σ_i Σ_{j,k} w_ijk · BCE(P_ijk, P̂_ijk), P̂_ijk = σ(scale · (d̂_ij − d̂_ik)), over all ordered pairs."""
    p_hat = torch.sigmoid(scale * (d_hat[:, :, None] - d_hat[:, None, :]))
    log_p = torch.clamp(p_hat, PROB_CLIP, 1.0).log()
    log_not_p = torch.clamp(1.0 - p_hat, PROB_CLIP, 1.0).log()
    return -(w * (p * log_p + (1.0 - p) * log_not_p)).sum()


@register("ldl-lrr", family="single-modal EDL",
          paper="Jia, Shen, Li, Li, Geng, Label Distribution Learning by Maintaining Label Ranking "
                "Relation, TKDE 2021", year=2021, display="LDL-LRR")
class LDLLRR(BaseMethod):
    """Label distribution learning by maintaining label ranking relation (Jia et al., TKDE 2021).

    A maximum-entropy (linear softmax) model d̂_i = softmax(θᵀx_i + b) minimising

        L = Σ_i −Σ_j d_ij log d̂_ij + λ/(2n) Σ_i Σ_{j,k} w_ijk ℓ_ijk + β/2 (‖θ‖² + ‖b‖²),

    ℓ_ijk the cross-entropy between P_ijk (1 if d_ij > d_ik, 0 if <, 0.5 on ties) and
    P̂_ijk = σ(s(d̂_ij − d̂_ik)), s = 100, weights w_ijk = (d_ij − d_ik)²; the sum runs over all
    ordered pairs, hence the ½. Optimised with full-batch L-BFGS (strong-Wolfe line search,
    history 5, lr 0.1) in float64, on the standardised concatenated features.

    Defaults follow Wang's reference implementation (LDL-FLC ``ldllrr.py``): λ = 1e-3,
    β = 1, cross-entropy summed over samples while the ranking term is divided by n (so λ and
    β interact with n, as there), bias regularised too.

    Deviations: PyLDL 0.1.0's version targets 1[d_ij − d_ik > 0.5] and uses log σ(1 − P̂);
    both are bugs and are not reproduced — this is the loss of the paper. float64 instead of
    float32 (L-BFGS's curvature pairs are sensitive to rounding). ``random_state`` only seeds
    torch for the zero-mean initialisation of θ (torch's default Linear init, as the reference).

    ``search_space``: the paper's grid (Jia et al.: λ over 1e-6 … 1e-1, β over 1e-3 … 1e2,
    by decades). Its paper tuned on that grid, so the ``paper`` preset tunes it
    (``tune_in_paper``; the other classical papers used fixed defaults or give no grid).

    Validation: does not use the validation part (``uses_validation = False``), so the runner
    fits it on the fold's training and validation parts merged; tuned, its candidates are fitted
    on the training part, scored on the validation part, and the winner is refitted on both.
    """

    version = "2"  # 2: fitted on training + validation (uses_validation = False)
    uses_validation: ClassVar[bool] = False

    presets = {"smoke": {"max_iter": 100}, "quick": {"max_iter": 200}, "paper": {"max_iter": 500}}
    search_space: ClassVar[dict] = {"lam": [10.0 ** k for k in range(-6, 0)],
                                    "beta": [10.0 ** k for k in range(-3, 3)]}
    constraints: ClassVar[dict] = {"lam": Real(low=0), "beta": Real(low=0),
                                   "scale": Real(low=0, low_open=True), "max_iter": Int(low=1)}
    tune_in_paper = True

    def __init__(self, lam: float = 1e-3, beta: float = 1.0, scale: float = 100.0,
                 max_iter: int = 500, random_state=None):
        self.lam = lam
        self.beta = beta
        self.scale = scale
        self.max_iter = max_iter
        self.random_state = random_state

    def objective(self, model: torch.nn.Linear, x: torch.Tensor, d: torch.Tensor,
                  p: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The LDL-LRR loss of ``model`` on (x, d) with precomputed ranking targets."""
        d_hat = torch.softmax(model(x), dim=1)
        ce = -(d * torch.log(d_hat + PROB_CLIP)).sum()
        reg = sum(q.square().sum() for q in model.parameters())
        rank = ranking_loss(d_hat, p, w, self.scale)
        return ce + self.lam / (2 * len(x)) * rank + self.beta / 2 * reg

    def fit(self, train: FeatureSet, val: FeatureSet | None = None) -> "LDLLRR":
        seed = int(np.random.default_rng(self.random_state).integers(2**31))
        gen = torch.Generator().manual_seed(seed)
        self.features_ = ConcatFeatures().fit(train)
        x = torch.as_tensor(self.features_.transform(train), dtype=torch.float64)
        d = torch.tensor(train.labels, dtype=torch.float64)  # a copy: FeatureSet arrays are read-only
        p, w = ranking_targets(d)
        model = torch.nn.Linear(x.shape[1], d.shape[1]).double()
        with torch.no_grad():
            bound = 1.0 / np.sqrt(x.shape[1])
            for q in model.parameters():
                q.uniform_(-bound, bound, generator=gen)
        opt = torch.optim.LBFGS(model.parameters(), lr=0.1, max_iter=self.max_iter, history_size=5,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self.objective(model, x, d, p, w)
            loss.backward()
            return loss

        opt.step(closure)
        self.model_ = model.eval()
        return self

    def predict(self, data: FeatureSet) -> np.ndarray:
        check_is_fitted(self, "model_")
        x = torch.as_tensor(self.features_.transform(data), dtype=torch.float64)
        with torch.no_grad():
            return normalise_rows(torch.softmax(self.model_(x), dim=1).numpy())

    def n_parameters(self) -> int:
        return sum(q.numel() for q in self.model_.parameters())
