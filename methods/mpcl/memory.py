"""The global prototype memory bank (docs/methods/mpcl.md, paper Eq. 9-10), shared by both modalities.

    α = softmax(β_a · Z Aᵀ)    (tokens × K)     addressing over K prototypes        [Eq. 9]
    Ẑ = α M                                      semantics-enriched embedding        [Eq. 10]
    ᾱ = mean over tokens of α                    instance-wise assignment            [reconstructed]

A (address, keys) and M (memory, values) are K × d learnable matrices: a Hopfield retrieval
whose stored patterns are parameters (hflayers' ``HopfieldLayer`` with separate lookup keys and
values). α is computed explicitly (not through the fused kernel) because PRD needs it.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class PrototypeMemory(nn.Module):
    """K prototypes: address matrix ``A`` and memory matrix ``M``, both (K, d).

    Parameters
    ----------
    d : int
        Token width.
    n_prototypes : int
        K, the memory capacity (the paper pairs it with the first HSC layer's 100 slots).
    beta : float or None
        β_a of Eq. 9; ``None`` -> 1/√d (the paper's value is lost).
    """

    def __init__(self, d: int, n_prototypes: int, beta: float | None = None):
        super().__init__()
        self.beta = 1.0 / math.sqrt(d) if beta is None else float(beta)
        # N(0, 1/d) rows have unit expected norm, so M Mᵀ / τ in PRD has a d-free scale.
        self.A = nn.Parameter(torch.randn(n_prototypes, d) / math.sqrt(d))
        self.M = nn.Parameter(torch.randn(n_prototypes, d) / math.sqrt(d))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z (B, N, d) -> (Ẑ (B, N, d), ᾱ (B, K))."""
        alpha = torch.softmax(self.beta * z @ self.A.T, dim=-1)
        return alpha @ self.M, alpha.mean(dim=1)
