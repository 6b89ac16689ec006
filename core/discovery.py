"""Plugin discovery shared by the dataset, method and protocol registries.

Each registry fills itself as a side effect of importing the modules of its package (their
``@register…`` decorators run on import). This helper lives in the bottom package so that
every registry above can use it without importing upward.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_submodules(package: ModuleType, skip: tuple[str, ...] = (), subpackages: bool = True) -> None:
    """Import every module of ``package`` (and its subpackages' ``__init__`` when
    ``subpackages``) except the names in ``skip``."""
    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name in skip or (mod.ispkg and not subpackages):
            continue
        importlib.import_module(f"{package.__name__}.{mod.name}")

__all__ = ["import_submodules"]
