"""Declared constraints of options: type, range and choices — of method hyper-parameters,
protocol options and dataset loader options alike.

It lives in the bottom package, core, so that datasets, methods and protocols all declare with it.
Every method declares, in its class attribute ``constraints``, one constraint per ``__init__``
parameter (``random_state`` excepted). The declarations of a class and its bases are merged
(`declared`), so a deep method inherits the training loop's (``epochs``, ``lr``, ...).
They are checked before any work starts — by the ``name[key=value]`` parser, the config loader
and the Python API — so ``mpcl[epochs=-5]`` is refused with one line naming the method, the
parameter and what it accepts, instead of training nothing and being ranked. The conformance
checks require a declaration for every parameter, and that defaults, presets, variants and the
search space satisfy them, so a plugin is held to the same rule.

The constraint objects are small and composable: ``Int(low=1)``, ``Real(low=0, low_open=True)``,
``Choice("sum", "concat")``, ``Bool()``, ``Seq(Real(low=0))``, ``Optional(Int(low=1))`` and
``AnyOf(Real(low=0, low_open=True), Choice("auto"))``; ``Text()`` and ``Table()`` (a mapping with
text keys) declare the run options of a config file (`benchmark.spec.RUN_OPTIONS`). Protocols declare their options'
constraints when they register (`protocols.register_protocol`), dataset loaders theirs
(`datasets.register_dataset`).
"""
from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

from .errors import ParameterError  # a BenchmarkError (core/errors.py); imported from here too


class Constraint:
    """One parameter's accepted values."""

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _bound(low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def _within(value, low, high, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return not (high is not None and (value > high or (high_open and value == high)))


@dataclass(frozen=True)
class Int(Constraint):
    low: int | None = None
    high: int | None = None

    def accepts(self, value) -> bool:
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and _within(value, self.low, self.high, False, False))

    def describe(self) -> str:
        bound = _bound(self.low, self.high, False, False)
        return "an integer" + (f" {bound}" if bound else "")


@dataclass(frozen=True)
class Real(Constraint):
    """A real number (an integer is accepted too: ``lr=1`` means 1.0); NaN never is."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value) -> bool:
        return (isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
                and _within(value, self.low, self.high, self.low_open, self.high_open))

    def describe(self) -> str:
        bound = _bound(self.low, self.high, self.low_open, self.high_open)
        return "a number" + (f" {bound}" if bound else "")


@dataclass(frozen=True)
class Bool(Constraint):
    def accepts(self, value) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


class Choice(Constraint):
    def __init__(self, *values):
        self.values = values

    def accepts(self, value) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def __repr__(self) -> str:
        return f"Choice{self.values!r}"


@dataclass(frozen=True)
class Seq(Constraint):
    """A list (or tuple) of values each accepted by ``item``, with at least ``min_len`` of them."""

    item: Constraint
    min_len: int = 1

    def accepts(self, value) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) >= self.min_len
                and all(self.item.accepts(v) for v in value))

    def describe(self) -> str:
        return f"a list of at least {self.min_len} item(s), each {self.item.describe()}"


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string (or, with ``path``, an ``os.PathLike`` too: a path given as one)."""

    path: bool = False

    def accepts(self, value) -> bool:
        if self.path and isinstance(value, os.PathLike):
            value = os.fspath(value)
        return isinstance(value, str) and bool(value.strip())

    def describe(self) -> str:
        return "a path (text)" if self.path else "text"


@dataclass(frozen=True)
class Table(Constraint):
    """A mapping (a JSON object, a TOML table) with text keys; ``value``, when given, must
    accept each of its values. Not a list, not ``key=value`` text: a run option that takes a
    table says so rather than guessing how to read something else."""

    value: "Constraint | None" = None

    def accepts(self, value) -> bool:
        return (isinstance(value, dict) and all(isinstance(k, str) for k in value)
                and (self.value is None or all(self.value.accepts(v) for v in value.values())))

    def describe(self) -> str:
        inner = f" whose values are each {self.value.describe()}" if self.value is not None else ""
        return "a table of name -> value (a JSON object / TOML table)" + inner


@dataclass(frozen=True)
class Optional(Constraint):
    """``None`` (the parameter's documented automatic choice) or a value ``inner`` accepts."""

    inner: Constraint

    def accepts(self, value) -> bool:
        return value is None or self.inner.accepts(value)

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"


class AnyOf(Constraint):
    def __init__(self, *options: Constraint):
        self.options = options

    def accepts(self, value) -> bool:
        return any(o.accepts(value) for o in self.options)

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def __repr__(self) -> str:
        return f"AnyOf{self.options!r}"


def declared(cls) -> dict[str, Constraint]:
    """The constraints of ``cls``, merged over its bases (a subclass's entry wins)."""
    out: dict[str, Constraint] = {}
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get("constraints", {}))
    return out


def check_params(constraints: dict[str, Constraint], params: dict, where: str) -> None:
    """Raise `ParameterError` for the first of ``params`` its constraint refuses.

    ``where`` names the owner as the user typed it (``mpcl[epochs=-5]``, ``protocol 'loso'``).
    A parameter without a declaration is not checked here; the conformance checks require one.
    """
    for key, value in params.items():
        constraint = constraints.get(key)
        if constraint is not None and not constraint.accepts(value):
            raise ParameterError(f"{where}: parameter {key}={value!r} is not accepted; "
                                 f"{key} takes {constraint.describe()}")

__all__ = ["AnyOf", "Bool", "Choice", "Constraint", "Int", "Optional", "ParameterError", "Real", "Seq",
           "Table", "Text", "check_params", "declared"]
