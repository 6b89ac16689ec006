"""Modality encoders by role (docs/methods/mpcl.md, paper Eq. 4): every modality becomes tokens of width d.

- a primary with channel structure (EEG: channels × bands) -> one Linear(bands → d) per channel,
  so T = number of channels and each channel keeps its own weights (its identity);
- a vector modality (GSR, PPG, ECG, …; any other array is flattened) -> Linear(dim → T·d);
- the behavioural modality -> Linear(dim → K_a·T·d), "matching the aggregated sequence length
  of the physiological modality" [paper].
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ChannelEncoder(nn.Module):
    """(B, channels, features) -> (B, channels, d) with a separate Linear per channel."""

    def __init__(self, n_channels: int, n_features: int, d: int):
        super().__init__()
        bound = 1.0 / math.sqrt(n_features)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(n_channels, n_features, d).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_channels, d).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bcf,cfd->bcd", x, self.weight) + self.bias


class TokenEncoder(nn.Module):
    """(B, …) flattened to (B, dim) -> Linear(dim → n_tokens·d) -> (B, n_tokens, d)."""

    def __init__(self, dim: int, n_tokens: int, d: int):
        super().__init__()
        self.n_tokens, self.d = n_tokens, d
        self.linear = nn.Linear(dim, n_tokens * d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).view(-1, self.n_tokens, self.d)


def has_channels(shape: tuple[int, ...]) -> bool:
    """A per-sample shape (channels, features) with more than one channel."""
    return len(shape) == 2 and shape[0] > 1


def primary_tokens(shape: tuple[int, ...], n_tokens: int | None, default: int) -> int:
    """T: the primary's channel count when it has channels, else ``n_tokens`` (or ``default``).

    An explicit ``n_tokens`` that disagrees with a channel-structured primary is an error,
    not silently ignored.
    """
    if has_channels(shape):
        if n_tokens is not None and n_tokens != shape[0]:
            raise ValueError(f"n_tokens={n_tokens} but the primary has {shape[0]} channels "
                             "(one token per channel); leave n_tokens=None")
        return shape[0]
    return default if n_tokens is None else n_tokens


def make_encoder(shape: tuple[int, ...], n_tokens: int, d: int, channelwise: bool) -> nn.Module:
    """The encoder of one modality with per-sample ``shape`` emitting ``n_tokens`` tokens."""
    if channelwise and has_channels(shape):
        return ChannelEncoder(shape[0], shape[1], d)
    return TokenEncoder(math.prod(shape), n_tokens, d)
