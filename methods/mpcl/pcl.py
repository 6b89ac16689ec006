"""Prototypical Co-occurrence Learning, PCL (docs/methods/mpcl.md, paper Eq. 14-19), and InfoNCE.

Per sample u = normalize(mean over tokens of U), U = Z + Ẑ (prototype-enhanced). The batch
matrices U_p, U_b are at once state and stored patterns of a static Hopfield net (no
projections, inverse temperature β_c), as in CLOOB:

    U_pp = N(softmax(β_c U_p U_pᵀ) U_p)    U_bp = N(softmax(β_c U_b U_pᵀ) U_p)
    U_pb = N(softmax(β_c U_p U_bᵀ) U_b)    U_bb = N(softmax(β_c U_b U_bᵀ) U_b)
    L_PCL = InfoLOOB(U_pp, U_bp) + InfoLOOB(U_bb, U_pb)                    (SemLOOB, Eq. 19)

each pair retrieved from one shared memory (physiological, then behavioural). InfoLOOB leaves
the positive out of the denominator; CLOOB's defaults β_c = 14.3 and 1/τ = 14.3.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .hopfield import static_hopfield


def info_loob(x: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
    """τ · mean_i [−x_iᵀy_i/τ + log Σ_{j≠i} exp(x_iᵀy_j/τ)] for paired rows of x, y."""
    logits = x @ y.T / tau
    eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
    negatives = logits.masked_fill(eye, float("-inf"))
    return tau * (torch.logsumexp(negatives, dim=-1) - logits.diagonal()).mean()


def semloob_retrievals(u_p: torch.Tensor, u_b: torch.Tensor, beta: float) -> tuple[torch.Tensor, ...]:
    """(U_pp, U_bp, U_pb, U_bb) of Eq. 15-18 from unit rows u_p, u_b (B, d)."""
    def retrieve(state: torch.Tensor, stored: torch.Tensor) -> torch.Tensor:
        return F.normalize(static_hopfield(state, stored, beta), dim=-1)

    return retrieve(u_p, u_p), retrieve(u_b, u_p), retrieve(u_p, u_b), retrieve(u_b, u_b)


def semloob(u_p: torch.Tensor, u_b: torch.Tensor, beta: float, tau: float) -> torch.Tensor:
    """SemLOOB (Eq. 19) of paired per-sample embeddings (B, d); rows are normalised first."""
    u_p, u_b = F.normalize(u_p, dim=-1), F.normalize(u_b, dim=-1)
    u_pp, u_bp, u_pb, u_bb = semloob_retrievals(u_p, u_b, beta)
    return info_loob(u_pp, u_bp, tau) + info_loob(u_bb, u_pb, tau)


def info_nce(u_p: torch.Tensor, u_b: torch.Tensor, tau: float) -> torch.Tensor:
    """CLIP's symmetric InfoNCE between normalised u_p and u_b (the w/ InfoNCE alternative)."""
    u_p, u_b = F.normalize(u_p, dim=-1), F.normalize(u_b, dim=-1)
    logits = u_p @ u_b.T / tau
    target = torch.arange(len(u_p), device=u_p.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


CONTRASTIVE = ("semloob", "infonce")


def contrastive_loss(kind: str, u_p: torch.Tensor, u_b: torch.Tensor, beta: float,
                     tau: float) -> torch.Tensor:
    """L_PCL by name: ``"semloob"`` (MPCL) or ``"infonce"`` (alternative); 0 for a batch of 1."""
    if len(u_p) < 2:  # leave-one-out has no negative
        return u_p.new_zeros(())
    if kind == "semloob":
        return semloob(u_p, u_b, beta, tau)
    if kind == "infonce":
        return info_nce(u_p, u_b, tau)
    raise ValueError(f"contrastive must be one of {CONTRASTIVE}, got {kind!r}")
