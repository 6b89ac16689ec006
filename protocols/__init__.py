"""Protocols: splitters (pure functions of metadata and seed) and the experiment declarations."""
from .splits import (
    RUNNER_OPTIONS,
    Fold,
    available_protocols,
    get_splitter,
    register_protocol,
)

__all__ = ["RUNNER_OPTIONS", "Fold", "available_protocols", "get_splitter", "register_protocol"]
