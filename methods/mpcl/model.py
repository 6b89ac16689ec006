"""The MPCL network, wired by modality roles (docs/methods/mpcl.md).

    primary ─enc─► Z_p ┐
    auxiliary k ─enc─► Z_a^k ┴─ MSAF ─► Z_phys ─ memory ─► U_p = Z_phys + Ẑ_phys ┐
    behavioural ─enc─► Z_beh ─────────────────── memory ─► U_b = Z_beh + Ẑ_beh   ┴─ H_0 ─ HSC ─► C slots ─► logits

The forward pass returns the logits and the quantities the PRD and PCL losses need; the
losses themselves are computed by the method (`methods.mpcl.MPCL.loss`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .encoders import make_encoder, primary_tokens
from .hsc import HSC, TransformerHead, slot_schedule
from .memory import PrototypeMemory
from .msaf import MSAF, default_scales

HEADS = ("hsc", "transformer", "pool")
PCL_INPUTS = ("prototype", "raw")


@dataclass(frozen=True)
class MPCLConfig:
    """Architecture choices; see `methods.mpcl.MPCL` for each one's meaning."""

    d: int = 64
    n_tokens: int | None = None
    default_tokens: int = 8
    scales: Sequence[float] | None = None
    fusion: str = "msaf"
    n_prototypes: int = 100
    beta_address: float | None = None
    head: str = "hsc"
    n_blocks: int = 3
    hsc_slots: Sequence[int] | None = None
    beta_hsc: float | None = None
    slot_init: str = "memory"
    n_heads: int = 4
    layer_norm: bool = True
    slot_residual: bool = True
    dropout: float = 0.1
    pcl_input: str = "prototype"


@dataclass(frozen=True)
class Roles:
    """Which modality plays which part. Without a declared primary, the first non-behavioural
    modality (else the first modality) is primary."""

    primary: str
    auxiliary: tuple[str, ...]
    behavioral: tuple[str, ...]

    @classmethod
    def from_roles(cls, roles: dict[str, str]) -> "Roles":
        names = list(roles)
        declared = [m for m in names if roles[m] == "primary"]
        physio = [m for m in names if roles[m] != "behavioral"]
        primary = (declared or physio or names)[0]
        rest = [m for m in names if m != primary]
        return cls(primary, tuple(m for m in rest if roles[m] == "auxiliary"),
                   tuple(m for m in rest if roles[m] == "behavioral"))


class MPCLNetwork(nn.Module):
    """MPCL for modalities of per-sample ``shapes`` with ``roles`` and ``n_emotions`` outputs.

    Several behavioural modalities (not in the paper) each get an encoder and their tokens are
    added. Without a behavioural modality, H_0 = U_p and ``forward`` returns no behavioural
    terms (PRD and PCL have no partner).
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], roles: Roles, n_emotions: int,
                 config: MPCLConfig):
        super().__init__()
        self.roles, self.config, d = roles, config, config.d
        t = primary_tokens(shapes[roles.primary], config.n_tokens, config.default_tokens)
        n_phys_tokens = max(len(roles.auxiliary), 1) * t
        self.encoders = nn.ModuleDict(
            {roles.primary: make_encoder(shapes[roles.primary], t, d, True)})
        for m in roles.auxiliary:
            self.encoders[m] = make_encoder(shapes[m], t, d, False)
        for m in roles.behavioral:
            self.encoders[m] = make_encoder(shapes[m], n_phys_tokens, d, False)
        self.dropout = nn.Dropout(config.dropout)
        scales = default_scales(d) if config.scales is None else tuple(config.scales)
        self.msaf = MSAF(d, len(roles.auxiliary), scales, config.fusion, config.n_heads)
        self.memory = PrototypeMemory(d, config.n_prototypes, config.beta_address)
        n_h0 = n_phys_tokens * (2 if roles.behavioral else 1)
        self.head = self._make_head(n_h0, n_emotions)
        self.to_logit = nn.Linear(d, 1) if config.head != "pool" else nn.Linear(d, n_emotions)

    def _make_head(self, n_h0: int, n_emotions: int) -> nn.Module:
        c = self.config
        if c.head == "hsc":
            slots = tuple(c.hsc_slots) if c.hsc_slots is not None else \
                slot_schedule(c.n_prototypes, n_emotions, c.n_blocks)
            if slots[-1] != n_emotions:
                raise ValueError(f"the last HSC capacity must be C = {n_emotions}, got {slots}")
            return HSC(slots, c.d, c.n_heads, c.beta_hsc, self.memory.M, c.slot_init, c.layer_norm,
                       c.slot_residual)
        if c.head == "transformer":
            return TransformerHead(n_h0, n_emotions, c.d, c.n_heads, c.n_blocks)
        return nn.Identity()  # "pool": mean over H_0's tokens, then Linear(d -> C)

    def _encode(self, x: dict[str, torch.Tensor], name: str) -> torch.Tensor:
        return self.dropout(self.encoders[name](x[name]))

    def forward(self, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor | None]]:
        """Logits (B, C) and the extras: ᾱ_p, ᾱ_b (B, K), u_p, u_b (B, d), the memory M."""
        x, r = batch["x"], self.roles
        z_phys = self.msaf(self._encode(x, r.primary), [self._encode(x, m) for m in r.auxiliary])
        zhat_p, alpha_p = self.memory(z_phys)
        tokens = [z_phys + zhat_p]
        extras = {"alpha_p": alpha_p, "alpha_b": None, "u_p": None, "u_b": None,
                  "memory": self.memory.M}
        if r.behavioral:
            z_beh = sum(self._encode(x, m) for m in r.behavioral)
            zhat_b, alpha_b = self.memory(z_beh)
            tokens.append(z_beh + zhat_b)
            raw = self.config.pcl_input == "raw"
            extras.update(alpha_b=alpha_b,
                          u_p=(z_phys if raw else tokens[0]).mean(dim=1),
                          u_b=(z_beh if raw else tokens[1]).mean(dim=1))
        h0 = torch.cat(tokens, dim=1)
        if self.config.head == "pool":
            return self.to_logit(h0.mean(dim=1)), extras
        return self.to_logit(self.head(h0)).squeeze(-1), extras
