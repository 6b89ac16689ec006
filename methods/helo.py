"""HeLo (Zheng et al., ACM MM 2025): heterogeneity mining by optimal transport and label
correlation for multimodal emotion distribution learning."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from ot.batch import solve_gromov_batch
from torch import nn

from datasets.base import FeatureSet

from .nn_blocks import ModalityTokenizer, modality_shapes, ordered_by_role
from core.params import Int, Real
from .registry import register
from .training import EPOCHS, PATIENCE, Batch, TorchMethod, kl_loss

DROPKEY_PENALTY = -1e12  # added to a dropped key's logit (finite, so an all-dropped row stays defined)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, drop_key: float,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-head scaled dot-product attention on (B, L, D) tensors, heads split on the feature
    axis. ``bias`` (Lq, Lk) is added to the logits before scaling (HeLo's label correlation);
    ``drop_key`` > 0 masks each key logit with that probability (DropKey, training only — the
    caller passes 0 in eval)."""
    b, lq, d = q.shape
    dh = d // heads
    q, k, v = (t.reshape(b, -1, heads, dh).transpose(1, 2) for t in (q, k, v))
    logits = q @ k.transpose(-1, -2)
    if bias is not None:
        logits = logits + bias
    logits = logits * dh ** -0.5
    if drop_key > 0:
        logits = logits + (torch.rand_like(logits) < drop_key) * DROPKEY_PENALTY
    return (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, lq, d)


class CrossAttention(nn.Module):
    """Post-LN residual cross-attention, queries from ``x``, keys/values from ``y``, with DropKey
    during training."""

    def __init__(self, d: int, heads: int, drop_key: float) -> None:
        super().__init__()
        self.heads, self.drop_key = heads, drop_key
        self.q, self.k, self.v = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, y: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        drop = self.drop_key if self.training else 0.0
        return self.norm(x + attention(self.q(x), self.k(y), self.v(y), self.heads, drop, bias))


def cosine_cost(x: torch.Tensor) -> torch.Tensor:
    """(B, n, d) tokens -> (B, n, n) cosine distances 1 - cos(x_i, x_j)."""
    x = F.normalize(x, dim=-1)
    return 1.0 - x @ x.transpose(1, 2)


def gromov_plan(cost_a: torch.Tensor, cost_b: torch.Tensor, a: torch.Tensor | None = None,
                b: torch.Tensor | None = None, reg: float = 0.1, outer: int = 3,
                inner: int = 20, balance: int = 20) -> torch.Tensor:
    """Batched entropic Gromov-Wasserstein plans (B, n, m) between token sets described by their
    intra-set costs, with POT's proximal solver (``ot.batch.solve_gromov_batch``: each outer
    step is a KL-proximal Bregman projection, the IPOT scheme of the official code). Costs are
    detached: the plan is a fixed coupling, gradients flow through what it transports.
    ``a``/``b`` (B, n)/(B, m) are the marginals, uniform when omitted.

    Each outer step's inner Bregman projection runs until its marginal error is below 1e-7 or
    for ``inner`` iterations; the plan is then finished by ``balance`` rounds of row/column
    scaling (Sinkhorn matrix balancing, the KL projection onto the plans with the requested
    marginals; cheap next to the solver) so both marginals hold to float precision.
    """
    bsz, n, m = cost_a.shape[0], cost_a.shape[1], cost_b.shape[1]
    a = torch.full((bsz, n), 1.0 / n, dtype=cost_a.dtype, device=cost_a.device) if a is None else a
    b = torch.full((bsz, m), 1.0 / m, dtype=cost_b.dtype, device=cost_b.device) if b is None else b
    with torch.no_grad():
        plan = solve_gromov_batch(cost_a.detach(), cost_b.detach(), reg=reg, a=a, b=b, symmetric=True,
                                  max_iter=outer, max_iter_inner=inner, tol=0.0, tol_inner=1e-7,
                                  grad="detach").plan
        for _ in range(balance):
            plan = plan * (a / plan.sum(2).clamp_min(1e-30)).unsqueeze(2)
            plan = plan * (b / plan.sum(1).clamp_min(1e-30)).unsqueeze(1)
    return plan


class HeLoNet(nn.Module):
    """Primary-centred physiological fusion, OT heterogeneity mining, label-correlation-driven
    cross-attention, MLP head. ``forward`` returns ``(logits, learned_correlation)``."""

    def __init__(self, anchor: str | None, auxiliary: list[str], behavioural: list[str],
                 shapes: dict[str, tuple[int, ...]], target_corr: np.ndarray, d: int, anchor_tokens: int,
                 heads: int, lcd_heads: int, ffn: int, depth: int, dropout: float, drop_key: float,
                 ot_reg: float, ot_outer: int, ot_inner: int) -> None:
        super().__init__()
        self.anchor, self.auxiliary, self.behavioural = anchor, auxiliary, behavioural
        self.ot = (ot_reg, ot_outer, ot_inner)
        n_phys = 0
        if anchor is not None:
            self.anchor_tok = ModalityTokenizer(shapes[anchor], anchor_tokens, d)
            n_a = self.anchor_tok.n_out
            self.aux_tok = nn.ModuleDict({m: ModalityTokenizer(shapes[m], n_a, d) for m in auxiliary})
            self.fusion = CrossAttention(d, heads, drop_key)
            self.projection = nn.Linear(d, d)
            n_phys = n_a * max(len(auxiliary), 1)
        n_beh_tokens = n_phys or anchor_tokens  # behaviour gets as many tokens as physiology (official)
        self.beh_tok = nn.ModuleDict({m: ModalityTokenizer((int(np.prod(shapes[m])),), n_beh_tokens, d)
                                      for m in behavioural})
        n_beh = n_beh_tokens * len(behavioural)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        # After OT the physiological tokens sit on the behavioural token positions.
        n_tokens = (n_beh if behavioural and anchor is not None else n_phys) + n_beh
        n_classes = target_corr.shape[0]
        self.token_projection = nn.Linear(n_tokens, n_classes)
        self.label_embedding = nn.Parameter(torch.randn(n_classes, d) * 0.02)
        self.register_buffer("target_corr", torch.as_tensor(target_corr, dtype=torch.float32))
        self.lcd = CrossAttention(d, lcd_heads, drop_key)
        self.head = nn.Sequential(nn.Linear(n_classes * d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(),
                                  nn.Linear(d, n_classes))

    def physiological(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """Anchor tokens attend to each auxiliary modality (shared cross-attention); the fused
        tokens are stacked and projected. Without auxiliary modality: the anchor tokens."""
        e = self.anchor_tok(x[self.anchor])
        if not self.auxiliary:
            return self.projection(e)
        return self.projection(torch.cat([self.fusion(e, self.aux_tok[m](x[m])) for m in self.auxiliary], 1))

    def transport(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Barycentric map of the physiological tokens onto the behavioural token positions
        through the Gromov-Wasserstein plan T (uniform marginals): m · Tᵀ P."""
        plan = gromov_plan(cosine_cost(p), cosine_cost(v), None, None, *self.ot)
        return v.shape[1] * plan.transpose(1, 2) @ p

    def correlation(self) -> torch.Tensor:
        """Cosine similarity between the learned label embeddings (C, C)."""
        e = F.normalize(self.label_embedding, dim=-1)
        return e @ e.T

    def forward(self, batch: Batch):
        x = batch.x
        p = self.physiological(x) if self.anchor is not None else None
        v = torch.cat([self.beh_tok[m](x[m]) for m in self.behavioural], 1) if self.behavioural else None
        if p is not None and v is not None:
            p = self.transport(p, v)
        parts = [self.encoder(t) for t in (p, v) if t is not None]
        fused = self.token_projection(torch.cat(parts, 1).transpose(1, 2)).transpose(1, 2)  # (B, C, d)
        corr = self.correlation()
        labels = self.label_embedding.expand(fused.shape[0], -1, -1)
        out = self.lcd(labels, fused, corr)
        return self.head(out.flatten(1)), corr


def label_correlation(labels: np.ndarray) -> np.ndarray:
    """Pearson correlation between emotion columns (C, C); a constant column correlates 0 with
    the others and 1 with itself."""
    centred = labels - labels.mean(axis=0)
    norm = np.linalg.norm(centred, axis=0)
    unit = centred / np.where(norm > 1e-12, norm, 1.0)
    corr = unit.T @ unit
    np.fill_diagonal(corr, 1.0)
    return corr


@register("helo", family="multimodal EDL", paper="Zheng et al., ACM MM 2025", year=2025, display="HeLo")
class HeLo(TorchMethod):
    """HeLo (Zheng, Tian, Wen, Zhang & Zhu, "HeLo: Heterogeneous Multi-Modal Fusion with Label
    Correlation for Emotion Distribution Learning", ACM MM 2025).

    1. Physiological fusion centred on the primary modality: its tokens (one per EEG channel,
       or ``anchor_tokens`` for a vector modality) query each auxiliary modality (linearly
       expanded to as many tokens) through one shared post-LN cross-attention with DropKey;
       the results are stacked and projected -> P.
    2. Behavioural tokens: each behavioural modality linearly expanded to as many tokens as P -> V.
    3. Heterogeneity mining: an entropic Gromov-Wasserstein plan T between P and V from their
       intra-modal cosine costs (POT's batched proximal-point solver, β 0.1 as the official
       IPOT; 5 outer steps in the ``paper`` preset as officially, 3 by default for CPU; each
       inner projection to tolerance; detached); P is carried onto V's token positions by the
       barycentric map m·TᵀP.
    4. One shared transformer encoder on P and on V; the concatenated tokens are mapped to C
       tokens by a linear map over the token axis.
    5. Learnable label embeddings E (C x d, a parameter); R̂ = cosine similarities of E is
       aligned by MSE with the target label correlation R, and R̂ biases the logits of a
       label-correlation-driven cross-attention, queries E, keys/values the C fused tokens.
    6. Flatten -> MLP (C·d -> d -> d -> C). Loss KL(d ‖ p̂) + ``corr_weight`` · MSE(R̂, R).

    Modality subsets: without a behavioural modality the OT step is skipped and only P is
    encoded; without an auxiliary modality P is the projected anchor tokens; without a primary
    modality the first auxiliary one anchors the fusion; with behaviour only, V alone is encoded.

    Where the paper is silent / choices: the target correlation R is the Pearson correlation of
    the emotion columns of the training fold (fixed buffer); the tokens of a vector anchor
    (``anchor_tokens``); the label embedding's initialisation (N(0, 0.02²)); the OT cost (plain
    cosine distance).
    Defaults are CPU-sized for small folds (d 32, FFN 64, dropout 0.2, DropKey ratio 0.1: with
    0.5 the small synthetic folds barely beat the prior). Official ``params.py`` (the ``paper``
    preset): feature dim 128, 4 heads, 1 LCD head, depth 1, FFN 64, dropout 0.5, DropKey ratio
    0.5, batch 128, 300 epochs, Adam lr 1e-3, weight decay 1e-5, ExponentialLR γ 0.99 per epoch.

    Optimal transport: POT's ``ot.batch.solve_gromov_batch`` solves the whole batch at once;
    measured on one CPU thread for B=128, 36x36 tokens and 5 x 20 iterations it costs ~0.05-0.07 s
    per batch, the same as a hand-written vectorised torch IPOT (~0.06 s), so POT is used; the
    default 3 outer steps cost ~0.03 s per batch of 128.

    Deviations from the official code (bugs fixed)
    ----------------------------------------------
    - The "learnable" label embedding was re-sampled with ``torch.rand`` in every forward pass
      (never learned, random at test time) -> one ``nn.Parameter`` learned by back-propagation.
    - DropKey was also applied at evaluation (stochastic predictions) -> training only.
    - Evaluation scored only the first sample of every test batch -> every sample is predicted
      (the benchmark scores them all).
    - ``F.normalize`` with its default dim=1 normalised the label embedding over the labels
      instead of the features -> normalised over the feature axis.
    - The attention modules ``reshape``\\ d (B, L, D) tensors to (B, D, L) (scrambling tokens and
      features) -> heads are split on the feature axis.
    - The OT output was T·P, indexing physiological tokens by behavioural positions (defined
      only because both have 36 tokens) and shrinking P by 1/36 -> the barycentric map m·TᵀP.
    - The ground-truth correlation was the per-sample outer product of the L2-normalised
      distribution (diagonal < 1, unreachable by a cosine-similarity matrix) -> the Pearson
      correlation of the emotion columns on the training fold.
    - The OT cost was a batch-thresholded ReLU of cosine distances -> plain cosine distances.
    - The GSR/PPG/video slots and the 18 EEG channels are hard-wired -> roles and any shapes.
    - KL summed over the batch -> batch mean, so the learning rate means the same for any batch
      size; ``corr_weight`` 1 by default, 1/128 in the ``paper`` preset, which reproduces the
      official balance of KL(sum over 128) + MSE.

    Search space (``search_space``): the official lr 1e-3 and width 128 are in the grid; the
    other values are our choice.
    """

    # 3: with patience=0 (the paper preset) fitted on training + validation merged
    version = "3"  # 2: shared budget and fused Adam changed results (docs/concepts/presets.md)
    presets = {  # training budget: TorchMethod.presets, except the official 300 epochs in paper
        "smoke": {"batch_size": 64, "lr": 3e-3},
        "paper": {"epochs": 300, "patience": 0, "d": 128, "dropout": 0.5, "drop_key": 0.5, "batch_size": 128,
                  "lr": 1e-3, "weight_decay": 1e-5, "lr_decay": 0.99, "ot_outer": 5, "corr_weight": 1 / 128},
    }
    budget_exceptions = {"paper": "the official code trains 300 epochs without early stopping"}
    search_space = {"lr": [3e-4, 1e-3, 3e-3], "d": [32, 64, 128]}
    # lr_decay is ExponentialLR's per-epoch factor; d must also be a multiple of heads (not declared).
    constraints = {
        "d": Int(low=1), "anchor_tokens": Int(low=1), "heads": Int(low=1), "lcd_heads": Int(low=1),
        "ffn": Int(low=1), "depth": Int(low=1), "dropout": Real(low=0, high=1, high_open=True),
        "drop_key": Real(low=0, high=1, high_open=True),
        "ot_reg": Real(low=0, low_open=True), "ot_outer": Int(low=1), "ot_inner": Int(low=1),
        "corr_weight": Real(low=0), "lr_decay": Real(low=0, high=1, low_open=True),
    }

    def __init__(self, d: int = 32, anchor_tokens: int = 8, heads: int = 4, lcd_heads: int = 1,
                 ffn: int = 64, depth: int = 1, dropout: float = 0.2, drop_key: float = 0.1,
                 ot_reg: float = 0.1, ot_outer: int = 3, ot_inner: int = 20, corr_weight: float = 1.0,
                 lr_decay: float = 0.99, epochs: int = EPOCHS, batch_size: int = 128, lr: float = 1e-3,
                 weight_decay: float = 1e-5, patience: int = PATIENCE, device: str = "auto",
                 random_state: int | None = None) -> None:
        self.d, self.anchor_tokens, self.heads, self.lcd_heads = d, anchor_tokens, heads, lcd_heads
        self.ffn, self.depth, self.dropout, self.drop_key = ffn, depth, dropout, drop_key
        self.ot_reg, self.ot_outer, self.ot_inner = ot_reg, ot_outer, ot_inner
        self.corr_weight, self.lr_decay = corr_weight, lr_decay
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.patience, self.device, self.random_state = patience, device, random_state

    @staticmethod
    def modality_roles(train: FeatureSet) -> tuple[str | None, list[str], list[str]]:
        """(anchor, auxiliary, behavioural): the primary modality anchors the physiological
        fusion (else the first auxiliary one); further primary modalities count as auxiliary."""
        order = ordered_by_role(train)
        physio = [m for m in order if train.roles[m] != "behavioral"]
        behavioural = [m for m in order if train.roles[m] == "behavioral"]
        return (physio[0] if physio else None), physio[1:], behavioural

    def build_network(self, train: FeatureSet) -> nn.Module:
        anchor, auxiliary, behavioural = self.modality_roles(train)
        return HeLoNet(anchor, auxiliary, behavioural, modality_shapes(train),
                       label_correlation(train.labels), self.d, self.anchor_tokens, self.heads, self.lcd_heads, self.ffn, self.depth,
                       self.dropout, self.drop_key, self.ot_reg, self.ot_outer, self.ot_inner)

    def make_scheduler(self, optimizer):
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.lr_decay)

    def loss(self, output, batch: Batch) -> torch.Tensor:
        logits, corr = output
        return kl_loss(logits, batch.y) + self.corr_weight * F.mse_loss(corr, self.network_.target_corr)
