"""Protocols: splitters (pure functions of metadata and seed), what each needs of the data, and
the experiment declarations."""
from .splits import (RUNNER_OPTIONS, Fold, Protocol, ProtocolError, Requirements,
                     available_protocols, check_data, check_folds, get_protocol, get_splitter,
                     options_for, register_protocol, resolve_options)

__all__ = ["RUNNER_OPTIONS", "Fold", "Protocol", "ProtocolError", "Requirements",
           "available_protocols", "check_data", "check_folds", "get_protocol", "get_splitter",
           "options_for", "register_protocol", "resolve_options"]
