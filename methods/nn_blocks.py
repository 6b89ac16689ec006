"""Small torch building blocks shared by the deep methods (MAET, CARAT, TiCAL, EmotionDict,
HeLo, MPCL).

Only generic pieces live here: turning one modality array into tokens, gradient reversal and
a small MLP. Anything specific to one paper stays in that method's module.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from datasets.base import FeatureSet


class ModalityTokenizer(nn.Module):
    """Turn one modality of shape (B, *shape) into ``n_tokens`` tokens of width ``d``.

    Parameters
    ----------
    shape : tuple of int
        Per-sample shape of the modality (``arr.shape[1:]``).
    n_tokens : int
        Number of tokens for a vector modality. A modality with two or more axes, e.g. EEG
        (channels, bands), ignores it and gives one token per channel, each the linear
        projection of that channel's last-axis features (shared weights plus a learned
        per-channel embedding, so channels stay distinguishable).
    d : int
        Token width.

    Notes
    -----
    A vector modality (dim,) is mapped by ``Linear(dim -> n_tokens * d)`` and reshaped: the
    "multi-view embedding" of MAET, and a convenient way to give every modality tokens.
    The number of output tokens is `n_out`.
    """

    def __init__(self, shape: Sequence[int], n_tokens: int, d: int) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.d = d
        if len(self.shape) >= 2:
            channels = self.shape[0]
            feat = math.prod(self.shape[1:])
            self.n_out = channels
            self.proj = nn.Linear(feat, d)
            self.channel_embedding = nn.Parameter(torch.zeros(channels, d))
            nn.init.normal_(self.channel_embedding, std=0.02)
        else:
            self.n_out = int(n_tokens)
            self.proj = nn.Linear(math.prod(self.shape) if self.shape else 1, self.n_out * d)
            self.channel_embedding = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *shape) -> (B, n_out, d)."""
        b = x.shape[0]
        if self.channel_embedding is not None:
            return self.proj(x.reshape(b, self.n_out, -1)) + self.channel_embedding
        return self.proj(x.reshape(b, -1)).reshape(b, self.n_out, self.d)


def modality_shapes(train: FeatureSet) -> dict[str, tuple[int, ...]]:
    """Per-sample shape of every modality, in the feature set's order."""
    return {m: tuple(a.shape[1:]) for m, a in train.modalities.items()}


def modality_dims(train: FeatureSet) -> dict[str, int]:
    """Flattened per-sample width of every modality."""
    return {m: math.prod(s) for m, s in modality_shapes(train).items()}


def ordered_by_role(train: FeatureSet) -> list[str]:
    """Modalities ordered primary, auxiliary, behavioural (stable within a role), so methods
    that treat the first modality as the anchor get the primary one."""
    rank = {"primary": 0, "auxiliary": 1, "behavioral": 2}
    return sorted(train.modalities, key=lambda m: rank.get(train.roles[m], 3))


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.alpha * grad, None


def grad_reverse(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """Identity forward, gradient multiplied by ``-alpha`` backward (Ganin & Lempitsky, 2015)."""
    return _GradReverse.apply(x, float(alpha))


def dann_alpha(progress: float, gamma: float = 10.0) -> float:
    """The DANN schedule 2 / (1 + exp(-gamma p)) - 1, rising from 0 to ~1 over training."""
    return 2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0


def mlp(d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> GELU -> Dropout -> Linear, the small head used by several methods."""
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(d_hidden, d_out))
