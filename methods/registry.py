"""The method registry: ``@register`` in a method's module, or an entry point for plugins.

Discovery imports every module and subpackage of ``methods/`` once, then loads the entry-point
group ``mixed_emotion_benchmark.methods`` (each entry point names a ``BaseMethod`` subclass,
or a module whose import registers classes). A method is addressed as ``name``,
``name[variant]`` (hyper-parameter overrides declared by the class), ``name[key=value,...]``
(overrides given on the command line, checked against ``__init__``) or both in one bracket.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import io
import json
import logging
import re
import types
from dataclasses import dataclass, field

from core.discovery import import_submodules

from .base import FAMILIES, BaseMethod
from core.params import ParameterError, check_params, declared

ENTRY_POINT_GROUP = "mixed_emotion_benchmark.methods"
_REGISTRY: dict[str, type[BaseMethod]] = {}
_BROKEN: dict[str, str] = {}  # entry points that failed to load, with the reason
log = logging.getLogger(__name__)
# The paper's column order (Tables I-II); methods not listed follow, by name, in their family.
PAPER_ORDER = ("prior", "pt-svm", "aa-knn", "sa-cpnn", "maet", "tical", "ldl-lrr", "tlr-dl",
               "cad", "carat", "emotiondict", "helo", "mpcl")
_discovered = False
_SPEC = re.compile(r"^\s*([\w.\-]+)\s*(?:\[(.+)\])?\s*$")
_KEY = re.compile(r"^[A-Za-z_]\w*$")


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

    import_submodules(methods, skip=("base", "registry"))
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load_plugin(ep)


def _load_plugin(ep) -> None:
    """Load one entry point, contained: whatever its import raises or exits with (``SystemExit``
    from a plugin that parses the command line when imported included; only ``KeyboardInterrupt``
    passes) and whatever it prints are kept from the command, and the plugin is recorded as
    broken, named in a warning, in ``list methods`` and when asked for. So is an entry point
    that names neither a ``BaseMethod`` subclass nor a module whose import registers methods
    (e.g. a factory function), and one whose name is taken."""
    dist = ep.dist.name if ep.dist is not None else "unknown distribution"
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            obj = ep.load()
        if isinstance(obj, types.ModuleType):
            return  # a module: its import registered its classes (@register)
        if not (isinstance(obj, type) and issubclass(obj, BaseMethod)):
            kind = f"the class {obj.__qualname__}" if isinstance(obj, type) else (
                f"a {type(obj).__name__} ({getattr(obj, '__qualname__', repr(obj))})")
            raise TypeError(f"it names {kind}, not a methods.base.BaseMethod subclass or a module "
                            "whose import registers methods")
        if obj not in _REGISTRY.values():
            register(ep.name, family=obj.family, paper=obj.paper, year=obj.year,
                     display=obj.__dict__.get("display", ""))(obj)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a third party's bug must not take the other methods down
        said = [line.strip() for line in printed.getvalue().splitlines() if line.strip()]
        _BROKEN[ep.name] = (f"entry point {ep.name} = {ep.value} of distribution {dist!r} "
                            f"failed to load ({type(exc).__name__}: {exc}"
                            + (f"; it printed: {said[-1]}" if said else "") + ")")
        log.warning("%s; every other method works, fix or uninstall %s to use it",
                    _BROKEN[ep.name], dist)


def broken_plugins() -> dict[str, str]:
    """Entry points that failed to load: name -> what failed (for a usage error on request)."""
    _discover()
    return dict(_BROKEN)


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
    # a class no registry knows (passed to the Python API); registered methods leave it None
    klass: type | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        """The spec as typed on the command line, e.g. ``mpcl[w/o PRD,epochs=60]``
        (``parse_spec(spec.label) == spec`` for every spec without a title)."""
        inside = [self.variant] if self.variant else []
        inside += [f"{k}={format_value(v)}" for k, v in self.params.items()]
        return f"{self.name}[{','.join(inside)}]" if inside else self.name

    @property
    def display(self) -> str:
        """Column title: the override, else the method's display name plus the variant and
        the explicit parameters, e.g. ``MPCL w/o PRD (epochs=60, d=64)``."""
        if self.title:
            return self.title
        text = f"{self.cls.display} {self.variant}" if self.variant else self.cls.display
        if self.params:
            text += " (" + ", ".join(f"{k}={format_value(v)}" for k, v in self.params.items()) + ")"
        return text

    @property
    def cls(self) -> type[BaseMethod]:
        return self.klass or method_classes()[self.name]

    @property
    def reference(self) -> str:
        """How a run spec file names this method: its label, or for a class no registry knows,
        ``module:Class`` with the label's brackets (importable again by `resolve_methods`)."""
        if self.klass is None:
            return self.label
        return f"{self.klass.__module__}:{self.klass.__qualname__}" + self.label[len(self.name):]

    def build(self, preset: str = "quick", **extra) -> BaseMethod:
        """An instance with preset, variant and explicit overrides applied, in that order."""
        cls = self.cls
        params = {**cls.presets.get(preset, {}), **cls.variants.get(self.variant, {}),
                  **self.params, **extra}
        return cls(**params)


def parse_value(text: str):
    """A parameter value as typed: JSON where it parses (numbers, true/false, null, lists,
    quoted strings), else the text itself (``fusion=sum`` -> ``"sum"``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def format_value(value) -> str:
    """The inverse of `parse_value`: bare text where it reads back unchanged."""
    if isinstance(value, str) and parse_value(value) == value and not set(value) & set(",[]="):
        return value
    return json.dumps(value, separators=(",", ":"))


def method_parameters(cls: type[BaseMethod]) -> list[str]:
    """The hyper-parameters a user may set: ``__init__``'s named arguments except
    ``random_state``, which the runner derives from the job's seed."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name not in ("self", "random_state")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def build_problem(cls, given=()) -> str | None:
    """Why the runner could not build ``cls`` the way it builds every method (its preset's,
    variant's and the user's parameters, named in ``given``, plus ``random_state``), or None.
    Checked before any work, so a class without ``random_state`` or with a parameter that has
    no default is one refusal, not a ``TypeError`` in every job."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # no introspectable signature: let building tell
        return None
    named = [p for p in params.values() if p.name != "self"
             and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if "random_state" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return (f"{cls.__name__}.__init__ takes no random_state (the runner sets it per job from "
                "--seeds); add random_state=None and use it in fit")
    required = [p.name for p in named if p.default is p.empty and p.name not in given
                and p.name != "random_state"]
    if required:
        return (f"{cls.__name__}.__init__ parameter(s) {', '.join(required)} have no default; give "
                "each a default (a method is built from its preset alone)")
    return None


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets (``a,b[x,y=[1,2]]`` -> ``a``, ``b[x,y=[1,2]]``)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_spec(text: str, classes: dict[str, type[BaseMethod]] | None = None) -> MethodSpec:
    """``"mpcl"``, ``"mpcl[w/o PRD]"``, ``"mpcl[epochs=60,d=64]"`` or both in one bracket,
    ``"mpcl[w/o PRD,epochs=60]"`` -> MethodSpec.

    Inside the brackets, an item that names a variant of the method is the variant (at most
    one); an item ``key=value`` is a hyper-parameter, its value read by `parse_value`.
    Unknown names, variants and parameters raise ``KeyError`` listing the valid ones; so does a
    parameter the variant already sets (the variant would be silently changed otherwise), and a
    value outside the parameter's declared constraint (`core.params`).
    """
    m = _SPEC.match(text)
    classes = classes or method_classes()
    if m and m.group(1) not in classes and m.group(1) in _BROKEN:
        raise KeyError(f"method {m.group(1)!r} could not be loaded: {_BROKEN[m.group(1)]}")
    if not m or m.group(1) not in classes:
        raise KeyError(f"unknown method {text!r}; valid: {', '.join(classes)}")
    name, cls = m.group(1), classes[m.group(1)]
    variant, params = "", {}
    for item in (p.strip() for p in _split_top(m.group(2) or "") if p.strip()):
        key, eq, value = item.partition("=")
        if item in cls.variants and not variant:
            variant = item
        elif eq and _KEY.match(key.strip()):
            params[key.strip()] = parse_value(value.strip())
        else:
            valid = ", ".join(cls.variants) or "(none)"
            again = f" besides {variant!r}" if item in cls.variants else ""
            raise KeyError(f"method {name!r} has no variant {item!r}{again}; valid variants: {valid} "
                           f"(one per method), or key=value with a parameter of {name}")
    valid = method_parameters(cls)
    for key in params:
        if key not in valid:
            why = ("is set per job from --seeds" if key == "random_state"
                   else "is not a parameter of the method")
            raise KeyError(f"{name}[{key}=...]: {key!r} {why}; valid parameters: {', '.join(valid)}")
        if key in cls.variants.get(variant, {}):
            raise KeyError(f"{name}[{variant},{key}=...]: variant {variant!r} sets {key} itself "
                           f"({key}={format_value(cls.variants[variant][key])}); give one of the two")
    try:
        check_params(declared(cls), params, where=text.strip())
    except ParameterError as exc:
        raise KeyError(str(exc)) from None
    return MethodSpec(name, variant, params)


def external(obj) -> MethodSpec:
    """A spec for a method class (or a configured instance) that no registry knows: named after
    its class; an instance contributes the parameters it sets away from the class's defaults.
    The class gets a column title and, unless it declares one of ``FAMILIES``, the family
    "external"; its constraints are checked like a registered method's.

    A class whose name is a registered method's (a user's class ``Prior``, or ``name = "prior"``)
    is refused (``KeyError`` naming both): it would otherwise share the built-in's job keys and
    column, and be silently replaced by it. Renaming (``name = "my-prior"``) is the fix.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    if not (isinstance(cls, type) and issubclass(cls, BaseMethod)):
        raise TypeError(f"{obj!r} is not a methods.base.BaseMethod subclass or instance")
    name = cls.__dict__.get("name") or cls.__name__.lower()
    registered = method_classes().get(name)
    if registered is not None and registered is not cls:
        raise KeyError(f"class {cls.__module__}.{cls.__qualname__} is named {name!r}, the name of the "
                       f"registered method {name!r} ({registered.__module__}.{registered.__qualname__}); "
                       "set a class attribute name = '...' of its own so it gets its own column")
    if "name" not in cls.__dict__:
        cls.name = name
        cls.display = cls.__dict__.get("display") or cls.__name__
    if cls.family == "reference" and "family" not in cls.__dict__:
        cls.family = "external"
    params = {}
    if not isinstance(obj, type):
        signature = inspect.signature(cls.__init__).parameters.values()
        defaults = {p.name: p.default for p in signature if p.default is not p.empty}
        params = {k: v for k, v in obj.get_params(deep=False).items()
                  if k != "random_state" and (k not in defaults or v != defaults[k])}
    check_params(declared(cls), params, where=cls.__name__)
    return MethodSpec(cls.name, "", params, klass=cls)


def _imported(ref: str):
    """``package.module:Class[params]`` -> the class and the bracket text."""
    import importlib

    path, _, bracket = ref.partition("[")
    module, _, qualname = path.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj, bracket.rstrip("]")


def resolve_methods(value) -> list[MethodSpec]:
    """Methods as given to a run: ``"all"``, a comma-separated string of specs, or a list of
    specs, ``MethodSpec`` objects, ``module:Class`` references, classes or instances."""
    if isinstance(value, str):
        return parse_methods(value)
    out = []
    for item in value:
        if isinstance(item, MethodSpec):
            out.append(item)
        elif isinstance(item, str) and ":" in item.split("[")[0]:
            try:
                cls, inside = _imported(item)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # whatever the user's module raises or exits with
                raise KeyError(f"cannot import method {item!r} ({type(exc).__name__}: {exc})") from None
            spec = external(cls)
            if inside:
                parsed = parse_spec(f"{spec.name}[{inside}]", classes={spec.name: cls})
                spec = MethodSpec(spec.name, parsed.variant, parsed.params, klass=cls)
            out.append(spec)
        elif isinstance(item, str):
            out += parse_methods(item)
        else:
            out.append(external(item))
    classes: dict[str, type] = {}
    for spec in out:  # two classes under one name would share job keys and a column
        other = classes.setdefault(spec.name, spec.cls)
        if other is not spec.cls:
            raise KeyError(f"two methods are named {spec.name!r}: {other.__module__}.{other.__qualname__} "
                           f"and {spec.cls.__module__}.{spec.cls.__qualname__}; give one a class "
                           "attribute name = '...' of its own")
    return out


def parse_methods(text: str) -> list[MethodSpec]:
    """A comma-separated list of specs, or ``all`` for every registered method."""
    if text.strip() == "all":
        return [MethodSpec(n) for n in method_classes()]
    return [parse_spec(p) for p in _split_top(text) if p.strip()]
