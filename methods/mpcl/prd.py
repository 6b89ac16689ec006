"""Prototype Relation Distillation, PRD (docs/methods/mpcl.md, paper Eq. 11-13).

    S = softmax(M Mᵀ / τ) row-wise          teacher: relational structure of the prototypes [Eq. 11]
    k_i^b = argmax ᾱ_i^b,  k_i^p = argmax ᾱ_i^p                                           [Eq. 12]
    L_PRD = (1/B) Σ_i [ KL(S[k_i^b] ‖ ᾱ_i^p) + KL(S[k_i^p] ‖ ᾱ_i^b) ]                     [Eq. 13]

The dominant prototype of one modality supervises the other modality's addressing.
Gradient flow (reconstructed, stated here because the paper is silent): the teacher side is
detached — S is computed from a detached M, and the argmax indices carry no gradient — so PRD
trains only the students' addressing ᾱ (through A and the encoders); M is shaped by the task
and PCL losses through Ẑ.
"""
from __future__ import annotations

import torch


def relation_matrix(memory: torch.Tensor, tau: float) -> torch.Tensor:
    """S = softmax(M Mᵀ / τ) row-wise, (K, K); rows are distributions over prototypes."""
    return torch.softmax(memory @ memory.T / tau, dim=-1)


def kl_rows(target: torch.Tensor, pred: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Mean over rows of KL(target ‖ pred); zero where target == pred."""
    log_ratio = torch.log(target.clamp_min(eps)) - torch.log(pred.clamp_min(eps))
    return (target * log_ratio).sum(-1).mean()


def prd_loss(alpha_p: torch.Tensor, alpha_b: torch.Tensor, memory: torch.Tensor,
             tau: float) -> torch.Tensor:
    """L_PRD for instance-wise assignments ᾱ^p, ᾱ^b (B, K) and memory matrix M (K, d)."""
    teacher = relation_matrix(memory.detach(), tau)
    k_b, k_p = alpha_b.detach().argmax(-1), alpha_p.detach().argmax(-1)
    return kl_rows(teacher[k_b], alpha_p) + kl_rows(teacher[k_p], alpha_b)
