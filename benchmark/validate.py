"""Check a command's flags before any work starts.

Everything here runs before data is loaded or a directory is created, so a typo costs a
moment, not a data load, and leaves nothing behind. Each check raises `UsageError`
naming the flag and what it accepts. Loader and protocol options are checked against the
signature of the function that will receive them (``inspect.signature``), so a new loader or
protocol is validated without a table to keep in step.
"""
from __future__ import annotations

import inspect
import os
from typing import Callable

from .errors import UsageError

# Splitter arguments the runner supplies itself; never user options.
_SPLITTER_OWN = ("meta", "seed")


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. under taskset or a cgroup
    cpuset), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity API
        return os.cpu_count() or 1


def n_jobs(value: int | None, flag: str = "--n-jobs") -> int:
    """Worker processes: ``None`` (default) and ``-1`` mean every usable core; ``1`` is serial.

    ``-1`` follows joblib's meaning but counts only the cores the process may use. Other
    negative values and 0 are refused rather than guessed at.
    """
    if value is None or value == -1:
        return usable_cores()
    if value < 1:
        raise UsageError(f"{flag} {value}: expected a positive number of workers, or -1 for every "
                         f"usable core ({usable_cores()} here)")
    return value


def seeds(text) -> tuple[int, ...]:
    """``--seeds 0,1,2`` (or a list, or one integer) -> (0, 1, 2): integers >= 0, each once."""
    out = []
    parts = [str(p) for p in text] if isinstance(text, (list, tuple)) else str(text).split(",")
    for part in parts:
        part = part.strip()
        try:
            seed = int(part)
        except ValueError:
            raise UsageError(f"--seeds {text!r}: {part!r} is not an integer; "
                             "expected comma-separated integers >= 0, e.g. 0,1,2") from None
        if seed < 0:
            raise UsageError(f"--seeds {text!r}: seed {seed} is negative; seeds are integers >= 0")
        if seed in out:
            raise UsageError(f"--seeds {text!r}: seed {seed} is given twice; each seed runs once")
        out.append(seed)
    return tuple(out)


def methods(text: str) -> list:
    """``--methods`` -> MethodSpecs; unknown names, broken plugins and duplicates are refused."""
    from methods.registry import broken_plugins, parse_methods

    if not text.strip():
        raise UsageError("--methods is empty; give 'all' or comma-separated names (see `list methods`)")
    broken = broken_plugins()
    try:
        specs = parse_methods(text)
    except KeyError as exc:  # parse_methods' unknown name/variant: its message lists valid ones
        asked = {part.split("[")[0].strip() for part in text.split(",")}
        name = next((b for b in broken if b in asked), None)
        if name is not None:
            raise UsageError(f"--methods: method {name!r} could not be loaded: {broken[name]}") from None
        raise UsageError(f"--methods: {exc.args[0]}") from None
    unique_methods(specs)
    return specs


def unique_methods(specs: list) -> None:
    """Refuse a method listed twice (same name, variant and parameters)."""
    seen = set()
    for spec in specs:
        ident = (spec.name, spec.variant, repr(sorted(spec.params.items())))
        if ident in seen:
            raise UsageError(f"--methods: {spec.label} is listed twice; each method runs once")
        seen.add(ident)


def buildable(specs: list, preset: str) -> None:
    """Refuse a method the runner could not build from its declared parameters (no
    ``random_state``, a parameter without default that nothing sets), before any work: otherwise
    every one of its jobs fails with the same ``TypeError``."""
    from methods.registry import build_problem

    for spec in specs:
        cls = spec.cls
        given = {**cls.presets.get(preset, {}), **cls.variants.get(spec.variant, {}), **spec.params}
        why = build_problem(cls, given)
        if why:
            raise UsageError(f"--methods: {spec.reference} cannot be built: {why}")


def scheduler(address: str, flag: str = "--scheduler") -> None:
    """A Dask scheduler address (``tcp://HOST:PORT``, ``HOST:PORT``, ``tls://...``), parsed by
    Dask's own address parser before any data loads or directory is made: a typo is one line,
    not a traceback after the data loaded with a half-made run directory behind it."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls", "ws", "wss") and not parse_host_port(location)[0]:
            raise ValueError("no host")
    except ValueError as exc:
        raise UsageError(f"{flag} {address!r}: not a Dask scheduler address ({exc}); expected e.g. "
                         "tcp://HOST:8786") from None


def plain_name(text) -> bool:
    """Whether ``text`` is one path component that stays inside its parent: not empty, no
    separator, not ``.``/``..`` nor hidden (leading ``.``), no NUL."""
    seps = {"/", "\\", os.sep, *([os.altsep] if os.altsep else [])}
    return (isinstance(text, str) and bool(text.strip()) and not text.startswith(".")
            and not any(sep in text for sep in seps) and "\0" not in text)


def out_name(name, flag: str) -> str:
    """A name that becomes a folder under a parent it must not leave (``pages --name``)."""
    if not plain_name(str(name)):
        raise UsageError(f"{flag} {str(name)!r}: expected a plain name (letters, digits, '-', '_'): "
                         "one folder that stays inside its parent; no '/', '..' or leading '.'")
    return str(name)


def out_kind(out, protocol: str) -> None:
    """``--out`` is not the directory of the other kind of run: a plain run written into an
    experiment's directory (or an experiment into a plain run's) would leave both a ``run.json``
    and an ``experiment.json``, and every reader would see only one of them."""
    from pathlib import Path

    from protocols.experiments import EXPERIMENTS

    out = Path(out)
    experiment = protocol in EXPERIMENTS
    other = out / ("run.json" if experiment else "experiment.json")
    if other.exists():
        kind, mine = ("a plain run's", "an experiment") if experiment else ("an experiment's", "a plain run")
        raise UsageError(f"--out {out}: {kind} directory (it holds {other.name}); {mine} goes into a "
                         "new folder, or the --out of its own earlier run to resume it")


def folds(value) -> int | None:
    """``--folds``: a positive integer, or ``all`` (None: every fold)."""
    if value is None or value == "all":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--folds {value!r}: expected an integer or 'all'") from None


def _check_kwargs(fn: Callable, options: dict, what: str, flag_of: Callable[[str], str],
                  skip: tuple[str, ...] = ()) -> None:
    """Refuse options ``fn`` does not take, and text given where ``fn``'s default is a number."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n in params if n not in skip]
    for key, value in options.items():
        if key not in params or key in skip:
            raise UsageError(f"{flag_of(key)}: {what} takes no option {key!r}; "
                             f"it takes: {', '.join(valid) or '(none)'}")
        default = params[key].default
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UsageError(f"{flag_of(key)}: {what} option {key!r} expects a number "
                             f"(default {default!r}), got {value!r}")


def dataset(name: str) -> Callable:
    """The loader function registered for ``name`` (``ldl:X`` -> the ``ldl:`` loader)."""
    import datasets

    try:
        return datasets.get_loader(name)
    except KeyError as exc:
        raise UsageError(f"--dataset: {exc.args[0]}") from None


def dataset_options(name: str, options: dict) -> None:
    """Options (``--dataset-option``, ``--data-root``) the loader of ``name`` takes."""
    loader = dataset(name)
    if "data_root" in options and "data_root" not in inspect.signature(loader).parameters:
        raise UsageError(f"--data-root: dataset {name!r} is generated in memory and reads no "
                         "files; drop --data-root (or pick a real dataset, see `list datasets`)")

    def flag(key: str) -> str:
        return "--data-root" if key == "data_root" else f"--dataset-option {key}={options[key]!r}"

    _check_kwargs(loader, options, f"dataset {name!r}", flag, skip=("arg",))
    from core.params import ParameterError, check_params

    for key, value in options.items():
        try:
            check_params(getattr(loader, "constraints", {}), {key: value}, where=f"dataset {name!r}")
        except ParameterError as exc:
            raise UsageError(f"{flag(key)}: {exc}") from None


def protocol(name: str, options: dict, flags: dict[str, str]) -> None:
    """``name`` is a protocol or an experiment, and ``options`` suit it (``flags`` maps an
    option to the flag that set it, e.g. ``group`` -> ``--group``).

    A protocol must take every option. An experiment routes each option to the parts whose
    splitter takes it (``--group`` reaches the subject-dependent parts, not LOSO), so an option
    is refused only when no part of the experiment takes it. Values are checked by the
    protocol's declared constraints (`protocols.Protocol.options`), so a bad value
    (``--n-splits 1``) stops here, before the data loads.
    """
    from core.params import ParameterError, check_params
    from protocols import RUNNER_OPTIONS, available_protocols, get_protocol, get_splitter, options_for
    from protocols.experiments import EXPERIMENTS, parts_protocols

    valid = {**available_protocols(), **EXPERIMENTS}
    if name not in valid:
        raise UsageError(f"--protocol: unknown protocol {name!r}; valid: {', '.join(valid)}")
    splitter_options = {k: v for k, v in options.items() if k not in RUNNER_OPTIONS}
    splits = parts_protocols(name) if name in EXPERIMENTS else (name,)
    taken = {s: options_for(s, splitter_options) for s in splits}
    for key in splitter_options:
        if not any(key in t for t in taken.values()):
            what = f"protocol {name!r}" + (f" (parts: {', '.join(splits)})" if len(splits) > 1 or
                                             splits[0] != name else "")
            accepted = sorted({k for s in splits for k in get_protocol(s).constraints})
            raise UsageError(f"{flags.get(key, f'protocol option {key}')}: {what} takes no option "
                             f"{key!r}; it takes: {', '.join(accepted) or '(none)'}")
    for split, opts in taken.items():
        what = f"protocol {split!r}" + (f" (part of {name!r})" if split != name else "")
        _check_kwargs(get_splitter(split), opts, what,
                      lambda k: flags.get(k, f"protocol option {k}"), skip=_SPLITTER_OWN)
        for key, value in opts.items():
            try:
                check_params(get_protocol(split).constraints, {key: value}, where=what)
            except ParameterError as exc:
                raise UsageError(f"{flags.get(key, f'protocol option {key}')}: {exc}") from None


def formats(text: str, valid: tuple[str, ...] = ("md", "tex")) -> tuple[str, ...]:
    out = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in out if f not in valid]
    if bad or not out:
        raise UsageError(f"--format {text!r}: expected a comma-separated subset of {', '.join(valid)}")
    return out
