"""The modern Hopfield operator (Ramsauer et al., 2021) that every MPCL part is built from.

    Hopfield(R, Y, β) = softmax(β · R W_Q (Y W_K)ᵀ) · Y W_K W_V          (MPCL Eq. 3)

R holds the state (query) patterns, Y the stored patterns, β is the inverse temperature. With
no projections it is one step of the update ξ ← Yᵀ softmax(β Y ξ) that does not increase the
energy E(ξ) = −β⁻¹ lse(β, Yᵀξ) + ½ ξᵀξ (`hopfield_energy`). The operator is attention
with scale β, so it runs on ``torch.nn.functional.scaled_dot_product_attention`` (fused
kernels on CPU and CUDA). ``hopfield-layers`` is not on PyPI, hence this re-implementation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def hopfield_retrieve(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                      beta: float) -> torch.Tensor:
    """softmax(β · query keysᵀ) values over the stored-pattern axis (the second last)."""
    return F.scaled_dot_product_attention(query, keys, values, scale=float(beta))


def static_hopfield(state: torch.Tensor, stored: torch.Tensor, beta: float) -> torch.Tensor:
    """The operator with no projections: softmax(β R Yᵀ) Y (one update of every state row)."""
    return hopfield_retrieve(state, stored, stored, beta)


def hopfield_energy(xi: torch.Tensor, stored: torch.Tensor, beta: float) -> torch.Tensor:
    """E(ξ) = −β⁻¹ log Σ_i exp(β y_iᵀ ξ) + ½ ξᵀξ for each state row ξ (constant dropped)."""
    return -torch.logsumexp(beta * xi @ stored.transpose(-1, -2), dim=-1) / beta \
        + 0.5 * (xi * xi).sum(-1)


class Hopfield(nn.Module):
    """The projected operator, optionally at several inverse temperatures at once.

    Each β_s in ``betas`` gets its own W_Q, W_K and W_V (one "head" per scale), so the
    multi-scale fusion of MSAF is a single fused attention call. The output concatenates the
    scales on the feature axis: (…, n_state, len(betas) · d_value). With one β it is exactly
    MPCL Eq. 3. Projections have no bias, as in the equation.

    Parameters
    ----------
    d_state, d_stored : int
        Widths of R and Y.
    d_key, d_value : int
        Width of the association space (W_Q, W_K) and of each retrieved pattern (W_V).
    betas : sequence of float
        Inverse temperatures β_s; ``None`` entries are replaced by 1/√d_key.
    """

    def __init__(self, d_state: int, d_stored: int, d_key: int, d_value: int,
                 betas: Sequence[float | None] = (None,)):
        super().__init__()
        betas = [1.0 / math.sqrt(d_key) if b is None else float(b) for b in betas]
        self.n_scales, self.d_key, self.d_value = len(betas), d_key, d_value
        self.q = nn.Linear(d_state, self.n_scales * d_key, bias=False)
        self.k = nn.Linear(d_stored, self.n_scales * d_key, bias=False)
        self.v = nn.Parameter(torch.empty(self.n_scales, d_key, d_value))
        nn.init.xavier_uniform_(self.v)
        self.beta_values = tuple(betas)
        self.register_buffer("betas", torch.tensor(betas).view(-1, 1, 1), persistent=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, S·d_key) -> (B, S, N, d_key)."""
        return x.unflatten(-1, (self.n_scales, self.d_key)).transpose(-3, -2)

    def forward(self, state: torch.Tensor, stored: torch.Tensor) -> torch.Tensor:
        """state (B, N_r, d_state), stored (B, N_y, d_stored) -> (B, N_r, S · d_value).

        An unbatched state (N_r, d_state) — learnable slots — is projected once and shared
        by the whole batch.
        """
        q, k = self._heads(self.q(state)), self._heads(self.k(stored))
        if q.dim() < k.dim():
            q = q.expand(k.shape[0], *q.shape)
        v = k @ self.v  # Y W_K W_V: values live in the association space, as in Eq. 3
        if self.n_scales == 1:
            out = hopfield_retrieve(q, k, v, self.beta_values[0])
        else:  # one β per head: fold β_s into the queries, then a unit-scale call
            out = hopfield_retrieve(q * self.betas, k, v, 1.0)
        return out.transpose(-3, -2).flatten(-2)
