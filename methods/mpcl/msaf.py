"""Multi-Scale Associative Fusion, MSAF (docs/methods/mpcl.md, paper Eq. 5-8), and its alternatives.

For each auxiliary modality k, the primary tokens query the auxiliary tokens at every scale:

    H_s^k = Hopfield(R = Z_p, Y = Z_a^k, β_s);   F^k = [H_1^k ‖ … ‖ H_S^k] W_O + Z_p
    Z_phys = [F^1 ; … ; F^{K_a}]                  (tokens: K_a · T)

Small β averages the auxiliary globally, large β aligns locally [paper]. ``fusion`` selects
the paper's ablations: ``"sum"`` (w/o MSAF: F^k = Z_p + Z_a^k, same shapes, no retrieval) and
``"cross_attention"`` (w/ CrossAttn: standard multi-head cross-attention at the one scale
1/√d_head, primary as query, same residual). With no auxiliary modality there is nothing to
fuse: Z_phys = Z_p (T tokens), whatever ``fusion`` says.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .hopfield import Hopfield

FUSIONS = ("msaf", "sum", "cross_attention")


def default_scales(d: int, factors: Sequence[float] = (0.25, 1.0, 4.0)) -> tuple[float, ...]:
    """The reconstructed default scale set {0.25, 1, 4} · 1/√d (the paper's values are lost)."""
    return tuple(f / math.sqrt(d) for f in factors)


class _AssociativeFusion(nn.Module):
    """F = [H_1 ‖ … ‖ H_S] W_O + Z_p for one auxiliary modality."""

    def __init__(self, d: int, scales: Sequence[float]):
        super().__init__()
        self.hopfield = Hopfield(d, d, d, d, betas=scales)
        self.out = nn.Linear(len(scales) * d, d)

    def forward(self, z_p: torch.Tensor, z_a: torch.Tensor) -> torch.Tensor:
        return self.out(self.hopfield(z_p, z_a)) + z_p


class _CrossAttentionFusion(nn.Module):
    """F = MHA(Q = Z_p, K = V = Z_a) + Z_p: the Transformer cross-attention alternative."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(d, n_heads, batch_first=True)

    def forward(self, z_p: torch.Tensor, z_a: torch.Tensor) -> torch.Tensor:
        return self.attention(z_p, z_a, z_a, need_weights=False)[0] + z_p


class _SumFusion(nn.Module):
    """F = Z_p + Z_a (w/o MSAF)."""

    def forward(self, z_p: torch.Tensor, z_a: torch.Tensor) -> torch.Tensor:
        return z_p + z_a


class MSAF(nn.Module):
    """Fuses the primary with each auxiliary modality and stacks the results on the token axis.

    Parameters
    ----------
    d : int
        Token width.
    n_auxiliary : int
        K_a, the number of auxiliary modalities (0 allowed: identity).
    scales : sequence of float
        β_s of the Hopfield fusion (``fusion="msaf"``).
    fusion : {"msaf", "sum", "cross_attention"}
        The fusion operator (see the module docstring).
    n_heads : int
        Heads of the cross-attention alternative.
    """

    def __init__(self, d: int, n_auxiliary: int, scales: Sequence[float], fusion: str = "msaf",
                 n_heads: int = 4):
        super().__init__()

        def make() -> nn.Module:
            if fusion == "msaf":
                return _AssociativeFusion(d, scales)
            if fusion == "cross_attention":
                return _CrossAttentionFusion(d, n_heads)
            return _SumFusion()

        self.fusers = nn.ModuleList(make() for _ in range(n_auxiliary))

    def forward(self, z_p: torch.Tensor, z_aux: Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, T, d) and K_a × (B, T, d) -> (B, max(K_a, 1) · T, d)."""
        if not self.fusers:
            return z_p
        return torch.cat([f(z_p, z_a) for f, z_a in zip(self.fusers, z_aux)], dim=1)
