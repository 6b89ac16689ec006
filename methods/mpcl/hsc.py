"""Hierarchical Semantic Compression, HSC (docs/methods/mpcl.md, paper Eq. 20-23), and the TransEnc head.

    H_0 = [U_p ; U_b]                                  (tokens)                       [Eq. 20]
    H̃_l = Hopfield(R = C_l, Y = H_{l-1}, β)           learnable slots C_l (N_l × d)  [Eq. 21]
    H_l = H̃_l + MHSA(H̃_l)                                                            [Eq. 22]

N_1 = K with C_1 initialised from the prototype memory M; the capacity shrinks to N_L = C (one
slot per emotion). Both heads return (B, C, d); the model maps each slot to one logit.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .hopfield import Hopfield

SLOT_INITS = ("memory", "random")


def slot_schedule(n_prototypes: int, n_emotions: int, n_blocks: int) -> tuple[int, ...]:
    """Geometric capacities from K down to C over L blocks, e.g. 100 → 32 → 10 for L = 3.

    The paper gives only the ends (100 in the first layer, C in the last); geometric steps are
    the reconstructed choice. With L = 1 the single block has C slots.
    """
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    if n_blocks == 1:
        return (n_emotions,)
    ratio = n_emotions / n_prototypes
    return tuple(round(n_prototypes * ratio ** (l / (n_blocks - 1))) for l in range(n_blocks))


class CompressionBlock(nn.Module):
    """Slots query the state through the Hopfield operator, then a residual self-attention.

    ``layer_norm`` (reconstructed; hflayers normalises its inputs the same way) applies
    LayerNorm to the stored patterns before retrieval and to the slots before MHSA.
    ``slot_residual`` (reconstructed) adds the slots to what they retrieve, H̃ = C + Hopfield(C, H),
    as a Transformer's cross-attention adds its queries. Without it every slot's output is a
    convex combination of the same values, differing only by attention weights that start
    almost uniform: all C logits start equal and the head barely gets a gradient.
    """

    def __init__(self, n_slots: int, d: int, n_heads: int, beta: float | None, layer_norm: bool,
                 slot_residual: bool):
        super().__init__()
        self.slot_residual = slot_residual
        self.slots = nn.Parameter(torch.randn(n_slots, d) / math.sqrt(d))
        self.hopfield = Hopfield(d, d, d, d, betas=(beta,))
        self.norm_stored = nn.LayerNorm(d) if layer_norm else nn.Identity()
        self.norm_slots = nn.LayerNorm(d) if layer_norm else nn.Identity()
        self.mhsa = nn.MultiheadAttention(d, n_heads, batch_first=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        compressed = self.hopfield(self.slots, self.norm_stored(h))
        if self.slot_residual:
            compressed = compressed + self.slots
        x = self.norm_slots(compressed)
        return compressed + self.mhsa(x, x, x, need_weights=False)[0]


class HSC(nn.Module):
    """L compression blocks with capacities ``slots`` (the last must be C).

    Parameters
    ----------
    slots : sequence of int
        N_1 … N_L.
    d, n_heads : int
        Token width and MHSA heads.
    beta : float or None
        Inverse temperature of the slot retrieval; ``None`` -> 1/√d.
    memory : torch.Tensor or None
        Initial value of the first block's slots when ``slot_init="memory"`` (rows are
        copied; if N_1 ≠ K the first N_1 rows, cycled when N_1 > K).
    slot_init : {"memory", "random"}
        Where the first block's slots start.
    layer_norm, slot_residual : bool
        See `CompressionBlock`.
    """

    def __init__(self, slots: Sequence[int], d: int, n_heads: int, beta: float | None,
                 memory: torch.Tensor | None, slot_init: str = "memory", layer_norm: bool = True,
                 slot_residual: bool = True):
        super().__init__()
        self.blocks = nn.ModuleList(CompressionBlock(n, d, n_heads, beta, layer_norm, slot_residual)
                                    for n in slots)
        if slot_init == "memory" and memory is not None:
            rows = torch.arange(slots[0]) % memory.shape[0]
            with torch.no_grad():
                self.blocks[0].slots.copy_(memory.detach()[rows])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(B, N_0, d) -> (B, N_L, d)."""
        for block in self.blocks:
            h = block(h)
        return h


class TransformerHead(nn.Module):
    """w/ TransEnc: L standard (pre-norm) encoder layers over H_0, FFN width 2d, then a linear
    map over the token axis from N_0 tokens to C tokens (one per emotion).

    No dropout inside the layers, as inside the HSC blocks, so that the two heads differ only in
    architecture (attention dropout would also force the slow non-fused attention path on CPU).
    """

    def __init__(self, n_tokens: int, n_emotions: int, d: int, n_heads: int, n_blocks: int):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, n_heads, dim_feedforward=2 * d, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_blocks, enable_nested_tensor=False)
        self.to_emotions = nn.Linear(n_tokens, n_emotions)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.to_emotions(self.encoder(h).transpose(1, 2)).transpose(1, 2)
