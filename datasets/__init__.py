"""Dataset registry: ``load_dataset(name, **options)`` for every loader.

Loaders register with `register_dataset`. A name may carry an argument after a colon
(``ldl:SJAFFE``): the part after the colon is passed as ``arg``. Loader modules must keep
heavy imports (mne, neurokit2, cv2) inside functions so listing datasets stays fast.
"""
from __future__ import annotations

import sys
from typing import Callable

from .base import DataError, FeatureSet

_LOADERS: dict[str, Callable[..., FeatureSet]] = {}
_DOCS: dict[str, str] = {}
_discovered = False


def register_dataset(name: str, doc: str = "", constraints: dict | None = None) -> Callable:
    """Decorator registering ``fn(**options) -> FeatureSet`` under ``name``; ``constraints``
    declares the accepted values of its options (`core.params`), checked before the
    data loads (``fn.constraints``)."""

    def deco(fn: Callable[..., FeatureSet]) -> Callable[..., FeatureSet]:
        _LOADERS[name] = fn
        _DOCS[name] = doc or (fn.__doc__ or "").strip().splitlines()[0]
        fn.constraints = dict(constraints or {})
        return fn

    return deco


MOVED_TO_CORE = ("params", "discovery", "progress")


def _discover() -> None:
    global _discovered
    if not _discovered:
        _discovered = True
        from core.discovery import import_submodules

        # the deprecated aliases of modules moved to core/ register nothing (and would warn)
        import_submodules(sys.modules[__name__], skip=("base", *MOVED_TO_CORE), subpackages=False)


def available_datasets() -> dict[str, str]:
    """Registered dataset names with one-line descriptions."""
    _discover()
    return dict(sorted(_DOCS.items()))


def get_loader(name: str) -> Callable[..., FeatureSet]:
    """The loader function of ``name`` (``ldl:SJAFFE`` -> the ``ldl:`` loader); unknown names
    list the valid ones."""
    _discover()
    base, _, arg = name.partition(":")
    key = f"{base}:" if arg else base
    if key not in _LOADERS:
        raise KeyError(f"unknown dataset {name!r}; valid: {', '.join(available_datasets())}")
    return _LOADERS[key]


def load_dataset(name: str, **options) -> FeatureSet:
    """Build the named dataset; unknown names list the valid ones."""
    loader = get_loader(name)
    arg = name.partition(":")[2]
    if arg:
        options["arg"] = arg
    return loader(**options)


__all__ = ["DataError", "FeatureSet", "available_datasets", "get_loader", "load_dataset", "register_dataset"]
