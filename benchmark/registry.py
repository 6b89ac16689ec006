"""The method registry: ``@register`` in a method's module, or an entry point for plugins.

Discovery imports every module and subpackage of ``methods/`` once, then loads the entry-point
group ``mixed_emotion_benchmark.methods`` (each entry point names a ``BaseMethod`` subclass,
or a module whose import registers classes). A method is addressed as ``name`` or
``name[variant]``; variants are hyper-parameter overrides declared by the class.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
from dataclasses import dataclass, field

from methods.base import FAMILIES, BaseMethod

ENTRY_POINT_GROUP = "mixed_emotion_benchmark.methods"
_REGISTRY: dict[str, type[BaseMethod]] = {}
# The paper's column order (Tables I-II); methods not listed follow, by name, in their family.
PAPER_ORDER = ("prior", "pt-svm", "aa-knn", "sa-cpnn", "maet", "tical", "ldl-lrr", "tlr-dl",
               "cad", "carat", "emotiondict", "helo", "mpcl")
_discovered = False
_SPEC = re.compile(r"^\s*([\w.\-]+)\s*(?:\[(.+)\])?\s*$")


def register(name: str, *, family: str, paper: str = "", year: int = 0, display: str = ""):
    """Class decorator adding a method to the registry under ``name``.

    ``display`` is the column title in tables (default: ``name`` upper-cased, e.g. AA-KNN).
    """
    if family not in FAMILIES:
        raise ValueError(f"method {name!r}: family {family!r} not in {FAMILIES}")

    def deco(cls: type[BaseMethod]) -> type[BaseMethod]:
        if not issubclass(cls, BaseMethod):
            raise TypeError(f"{cls.__name__} must subclass methods.base.BaseMethod")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"method name {name!r} registered twice "
                             f"({_REGISTRY[name].__module__} and {cls.__module__})")
        cls.name, cls.family, cls.paper, cls.year = name, family, paper, year
        cls.display = display or name.upper()
        _REGISTRY[name] = cls
        return cls

    return deco


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    import methods

    for mod in pkgutil.iter_modules(methods.__path__):
        if mod.name != "base":
            importlib.import_module(f"methods.{mod.name}")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        if isinstance(obj, type) and issubclass(obj, BaseMethod) and obj not in _REGISTRY.values():
            register(ep.name, family=obj.family, paper=obj.paper, year=obj.year,
                     display=obj.__dict__.get("display", ""))(obj)


def method_classes() -> dict[str, type[BaseMethod]]:
    """Every registered method, by name, in the paper's family order then by name."""
    _discover()
    def order(kv):
        name, cls = kv
        pos = PAPER_ORDER.index(name) if name in PAPER_ORDER else len(PAPER_ORDER)
        return FAMILIES.index(cls.family), pos, name

    return dict(sorted(_REGISTRY.items(), key=order))


@dataclass(frozen=True)
class MethodSpec:
    """A method addressed by name, optional variant and explicit hyper-parameter overrides."""

    name: str
    variant: str = ""
    params: dict = field(default_factory=dict, hash=False)
    title: str = ""  # column title override, e.g. "MPCL (K=50)" in a hyper-parameter sweep

    @property
    def label(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    @property
    def display(self) -> str:
        """Column title: the override, else the method's display name plus the variant."""
        if self.title:
            return self.title
        return f"{self.cls.display} {self.variant}" if self.variant else self.cls.display

    @property
    def cls(self) -> type[BaseMethod]:
        return method_classes()[self.name]

    def build(self, preset: str = "quick", **extra) -> BaseMethod:
        """An instance with preset, variant and explicit overrides applied, in that order."""
        cls = self.cls
        params = {**cls.presets.get(preset, {}), **cls.variants.get(self.variant, {}),
                  **self.params, **extra}
        return cls(**params)


def parse_spec(text: str) -> MethodSpec:
    """``"mpcl[w/o PRD]"`` -> MethodSpec; unknown names or variants list the valid ones."""
    m = _SPEC.match(text)
    classes = method_classes()
    if not m or m.group(1) not in classes:
        raise KeyError(f"unknown method {text!r}; valid: {', '.join(classes)}")
    name, variant = m.group(1), (m.group(2) or "").strip()
    if variant and variant not in classes[name].variants:
        valid = ", ".join(classes[name].variants) or "(none)"
        raise KeyError(f"method {name!r} has no variant {variant!r}; valid: {valid}")
    return MethodSpec(name, variant)


def parse_methods(text: str) -> list[MethodSpec]:
    """A comma-separated list of specs, or ``all`` for every registered method."""
    if text.strip() == "all":
        return [MethodSpec(n) for n in method_classes()]
    parts, depth, cur = [], 0, ""
    for ch in text:  # split on commas outside brackets
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [parse_spec(p) for p in parts if p.strip()]
