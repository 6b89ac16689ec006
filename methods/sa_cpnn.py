"""SA-CPNN (Geng, Yin, Zhou, TPAMI 2013): the conditional probability neural network."""
from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from datasets.base import FeatureSet

from .ldl_utils import concat_batch
from core.params import AnyOf, Choice, Int, Real
from .registry import register
from .training import Batch, TorchMethod

ENCODINGS = ("onehot", "numeric")
INITS = ("glorot", "torch")

# Its own budget (not the deep methods' shared one: ``shared_budget = False``); the quick entry
# is also the constructor's default, one source for both.
QUICK_EPOCHS, QUICK_PATIENCE = 300, 30


class RpropPlus(torch.optim.Optimizer):
    """Rprop with weight-backtracking (Riedmiller & Braun, ICNN 1993; "Rprop⁺" in Igel & Hüsken).

    Per weight, with g the current and g' the previous gradient and Δ the step size:

    - g·g' > 0: Δ ← min(η⁺Δ, Δ_max), Δw ← −sign(g)Δ;
    - g·g' < 0: Δ ← max(η⁻Δ, Δ_min), Δw ← −Δw_prev (the last step is undone), and g is
      stored as 0, so the next step takes the third case;
    - otherwise: Δw ← −sign(g)Δ.

    torch's ``Rprop`` is iRprop⁻ instead (on a sign change it shrinks Δ and skips the update,
    never undoing the last one); it is the variant of Geng's LDLPackage ``cpnnTrain.m``. The CPNN
    paper cites Riedmiller & Braun, and PyLDL's ``RProp`` implements this rule.
    """

    def __init__(self, params, lr: float = 1e-3, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0)):
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"need 0 < eta- < 1 < eta+, got {etas}")
        super().__init__(params, {"lr": lr, "etas": etas, "step_sizes": step_sizes})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            eta_minus, eta_plus = group["etas"]
            step_min, step_max = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.full_like(p, group["lr"])
                    state["prev_grad"] = torch.zeros_like(p)
                    state["prev_delta"] = torch.zeros_like(p)
                g, step = p.grad, state["step"]
                prod = g * state["prev_grad"]
                step.copy_(torch.where(prod > 0, (step * eta_plus).clamp(max=step_max),
                                       torch.where(prod < 0, (step * eta_minus).clamp(min=step_min), step)))
                reverse = prod < 0
                delta = torch.where(reverse, -state["prev_delta"], -g.sign() * step)
                p.add_(delta)
                state["prev_delta"].copy_(delta)
                state["prev_grad"].copy_(torch.where(reverse, torch.zeros_like(g), g))
        return loss


class CPNNNet(nn.Module):
    """f(x, y) = w₂ᵀ σ(W₁ [x; enc(y); 1]) for every label y; returns the (B, C) scores.

    The hidden pre-activation splits into an x part (computed once per sample) and a y part
    (one column per label), which is the same network as running [x; enc(y); 1] C times.
    ``forward`` takes the feature matrix; `_BatchAdapter` feeds it from a batch.

    ``init``: ``'glorot'`` (U(±√(6/(fan_in+fan_out))) over the whole W₁, zero bias: keras'
    default, so PyLDL's), ``'torch'`` (torch's fan-in scaled default) or a float r for
    U(−r, r) on every weight (LDLPackage: 0.5).
    """

    def __init__(self, n_features: int, n_labels: int, hidden: int, encoding: str,
                 init: str | float = "glorot"):
        super().__init__()
        code = torch.eye(n_labels) if encoding == "onehot" else torch.arange(1.0, n_labels + 1)[:, None]
        self.register_buffer("label_code", code)  # (C, code_dim)
        self.x_to_hidden = nn.Linear(n_features, hidden)            # W₁'s x block and the bias
        self.y_to_hidden = nn.Linear(code.shape[1], hidden, bias=False)  # W₁'s y block
        self.out = nn.Linear(hidden, 1, bias=False)                  # w₂, no output bias
        if init == "glorot":
            first = math.sqrt(6.0 / (n_features + code.shape[1] + hidden))  # W₁ as one matrix
            nn.init.uniform_(self.x_to_hidden.weight, -first, first)
            nn.init.uniform_(self.y_to_hidden.weight, -first, first)
            nn.init.zeros_(self.x_to_hidden.bias)
            nn.init.xavier_uniform_(self.out.weight)
        elif not isinstance(init, str):
            for p in self.parameters():
                nn.init.uniform_(p, -float(init), float(init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.x_to_hidden(x)[:, None, :] + self.y_to_hidden(self.label_code)[None]
        return self.out(torch.sigmoid(h)).squeeze(-1)


class _BatchAdapter(nn.Module):
    """Concatenates the batch's modalities and calls the CPNN."""

    def __init__(self, net: CPNNNet, modalities: tuple[str, ...]):
        super().__init__()
        self.net, self.modalities = net, modalities

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.net(concat_batch(batch.x, self.modalities))


@register("sa-cpnn", family="LDL",
          paper="Geng, Yin, Zhou, Facial Age Estimation by Learning from Label Distributions, TPAMI 2013",
          year=2013, display="SA-CPNN")
class SACPNN(TorchMethod):
    """Conditional probability neural network (Geng, Yin, Zhou, TPAMI 2013).

    p(y | x) = exp f(x, y) / Σ_y' exp f(x, y'), with f a network with one sigmoid hidden layer
    on the input [x; enc(y); 1] and one linear output unit without bias. Trained full-batch
    with RProp on Σ_i KL(d_i ‖ p(· | x_i)) (the paper's cross-entropy up to a constant),
    averaged over samples. The RProp variant is the paper's: it cites Riedmiller & Braun (1993),
    Rprop with weight-backtracking (`RpropPlus`), which PyLDL implements too; Geng's
    LDLPackage code and torch's ``Rprop`` are iRprop⁻ (``optimizer='irprop-'`` selects it).
    Inputs are the concatenated modalities, standardised on the training fold by the shared loop.

    Parameters
    ----------
    label_encoding : ``'onehot'`` (default) or ``'numeric'``. The original feeds y as a number
        (1..C) — meaningful for ages, which are ordered. PANAS items are nominal (and Geng notes
        CPNN suits totally ordered labels only), so the default is one-hot (PyLDL's BCPNN
        encoding); ``'numeric'`` reproduces the original.
    hidden : hidden units. Default 64 (PyLDL); LDLPackage's EDL scripts use 50; the paper
        leaves it to the data.
    lr : RProp's initial step Δ₀. Default 1e-3 (PyLDL); LDLPackage's 0.1 overfits the
        ~900-dimensional benchmark inputs within a few epochs. Steps are bounded to [1e-6, 50]
        with η⁺ = 1.2, η⁻ = 0.5 (Riedmiller & Braun's values).
    optimizer : ``'rprop+'`` (default, the paper's) or ``'irprop-'`` (torch ``Rprop``, LDLPackage).
    epochs : full-batch RProp iterations (one step per epoch).
    init : ``'glorot'`` (default; keras' initialisation, as PyLDL), ``'torch'``, or a float r
        for U(−r, r) (LDLPackage's 0.5 saturates the sigmoids on ~900 standardised inputs).
    patience : early stopping on the inner validation split's KL, best epoch restored; every
        preset uses it. Why: with ~64 × 900 weights and no regularisation, full-batch RProp
        overfits long before the paper's budget (the paper preset without it scored KL .0877
        on SBU_3DFE, worse than the prior's .0827).

    Precision: float64 (Geng's MATLAB code computes in double). Rprop acts on the signs of the
    gradient and of its product with the previous one; near a minimum those are decided by the
    last digits, and in float32 they depended on the math kernel: the same run moved SA-CPNN's
    mean KL by 1.2 % on the wesad-e4 trial split and 9 % on the DMER sample between the
    OpenBLAS/MKL/ATen kernels of two CPUs (up to version 2; docs/reproducibility.md); in float64 they agree.

    Deviations: the paper stops at a training-error goal after its epoch budget; here the
    budget is ``epochs`` with early stopping on validation KL (the paper has no validation
    split; the training part minus the inner validation part is what it trains on). No weight
    decay (the paper has none). Full batch: ``batch_size`` is not a hyper-parameter.

    ``search_space`` (hidden units, initial step): our choice; the paper gives no search.
    """

    # 4: with patience=0 (no preset sets it) fitted on training + validation merged
    version = "4"  # 3: float64 (float32 Rprop sign decisions depended on the math kernel)
    known_failures = {"beats_prior": "ties the prior on the conformance split with the smoke "
                      "preset: KL 0.04802 against the trial-balanced prior's 0.04792 (it beat the "
                      "window-mean prior, 0.04807, by as little)"}
    relative_cost = 0.2  # CPU s of a quick job on ~200 windows: job order only (benchmark.runner)
    dtype = torch.float64
    shared_budget = False  # borrows the deep loop (full-batch RProp) but is not one of the deep methods compared
    batch_size: ClassVar[int] = 2**62  # full batch: the loop takes min(batch_size, n)
    presets = {
        "smoke": {"epochs": 80, "patience": 10},
        "quick": {"epochs": QUICK_EPOCHS, "patience": QUICK_PATIENCE},
        "paper": {"epochs": 1000, "patience": 50},
    }
    search_space: ClassVar[dict] = {"hidden": [16, 32, 64, 128], "lr": [1e-4, 1e-3, 1e-2]}
    constraints: ClassVar[dict] = {
        "label_encoding": Choice(*ENCODINGS), "hidden": Int(low=1),
        "optimizer": Choice("rprop+", "irprop-"),
        "init": AnyOf(Choice(*INITS), Real(low=0, low_open=True)),
    }

    def __init__(self, label_encoding: str = "onehot", hidden: int = 64, epochs: int = QUICK_EPOCHS,
                 lr: float = 1e-3, optimizer: str = "rprop+", init: str | float = "glorot",
                 patience: int = QUICK_PATIENCE, device: str = "cpu", random_state=None):
        self.label_encoding = label_encoding
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.optimizer = optimizer
        self.init = init
        self.patience = patience
        self.device = device
        self.random_state = random_state

    def build_network(self, train: FeatureSet) -> nn.Module:
        n_features = train.concat_features().shape[1]
        net = CPNNNet(n_features, train.n_emotions, self.hidden, self.label_encoding, self.init)
        return _BatchAdapter(net, tuple(train.modalities))

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        kwargs = {"lr": self.lr, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50.0)}
        return {"rprop+": RpropPlus, "irprop-": torch.optim.Rprop}[self.optimizer](params, **kwargs)
