"""Protocols: splitters (pure functions of metadata and seed) and the experiment runners."""
from .splits import Fold, available_protocols, get_splitter, register_protocol

__all__ = ["Fold", "available_protocols", "get_splitter", "register_protocol"]
