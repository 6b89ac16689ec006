"""One declared, frozen spec of a run, built the same way from the command line, a config file
and the Python API.

`build` takes the options by the names of the command line's flags (``methods``,
``dataset``, ``data_root``, ``dataset_options``, ``protocol``, ``group``, ``n_splits``,
``folds``, ``repeats``, ``val_size``, ``normalize``, ``preset``, ``seeds``, ``split_seed``,
``tune``, ``out``, ``n_jobs``, ``time_limit``, ``scheduler``, ``dask_local``), checks every one
of them before any data is loaded (`benchmark.validate`), and returns a `RunSpec`.
``python -m benchmark run`` passes the flags it was given; ``run --config FILE`` reads the same
names from a TOML, YAML or JSON file (flags given beside it win); ``benchmark.run(...)`` takes
them as keywords. A run writes its spec into ``run.json`` (`RunSpec.to_dict`), so
``run --config RUN_DIR/run.json --out NEW`` reproduces it.

Each option's accepted values are declared once, in `RUN_OPTIONS` (the constraint objects
of `core.params`), and checked by `check_options` — on the config file as read
(naming the file) and on every `build` — so a wrong type is one line naming the key, with
no truthiness guess (``"references": "false"`` is refused, not read as true) and no part of a
value dropped (``"methods": {"aa-knn": {"k": 3}}`` means ``aa-knn[k=3]``).

What a preset means lives in `benchmark.presets` (data size of generated datasets), each
method's ``presets`` table (training budget) and `benchmark.tuning.budget` (tuning
budget); the spec only names it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.params import AnyOf, Bool, Choice, Constraint, Int, Real, Seq, Table, Text

from .errors import UsageError
from .presets import PRESETS

# Protocol options given as top-level names (flags); they go into ``protocol_options``.
PROTOCOL_FLAGS = {"group": "--group", "n_splits": "--n-splits", "folds": "--folds",
                  "repeats": "--repeats", "val_size": "--val-size"}


class MethodList(Constraint):
    """What ``methods`` takes: ``"all"`` or comma-separated specs as typed on the command line,
    a non-empty list (of specs, ``module:Class`` references, classes or instances), or a table
    method -> its parameters (``{"aa-knn": {"k": 3}}`` is ``aa-knn[k=3]``; an empty table or
    null: its defaults). The items themselves are checked by the method registry."""

    def accepts(self, value) -> bool:
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, (list, tuple)):
            return bool(value) and not any(isinstance(v, str) and not v.strip() for v in value)
        return (isinstance(value, dict) and bool(value) and all(isinstance(k, str) for k in value)
                and all(v is None or Table().accepts(v) for v in value.values()))

    def describe(self) -> str:
        return ("'all', comma-separated method names, a non-empty list of them, or a table "
                "method -> its parameters (e.g. {\"aa-knn\": {\"k\": 3}})")


# Every run option's accepted values, declared once: the command line, the config loader and the
# Python API all check against this table (`check_options`) before anything else, so a
# wrong type is one line naming the key, never a traceback, a truthiness guess or a dropped part.
# Ranges that depend on the protocol or the loader (``n_splits``, ``val_size``, dataset options)
# are the protocol's and loader's own declarations, checked by `benchmark.validate`.
SEED = Int(low=0)
RUN_OPTIONS: dict[str, Constraint] = {
    "methods": MethodList(),
    "dataset": Text(), "data_root": Text(path=True), "dataset_options": Table(),
    "protocol": Text(), "protocol_options": Table(),
    "group": Choice("trial", "window"), "n_splits": Int(), "folds": AnyOf(Int(low=1), Choice("all")),
    "repeats": Int(), "val_size": Real(),
    "normalize": Choice("none", "subject"), "preset": Choice(*PRESETS),
    "seeds": AnyOf(SEED, Seq(SEED), Text()), "split_seed": SEED, "tune": Int(low=0),
    "references": Bool(), "deterministic": Bool(),
    "out": Text(path=True), "n_jobs": AnyOf(Int(low=1), Choice(-1)),
    "time_limit": Real(low=0, low_open=True), "scheduler": Text(), "dask_local": Int(low=0),
}
OPTIONS = tuple(RUN_OPTIONS)  # the option names, in the order messages list them
# the command line's flag of an option, where it has one (named beside the key in errors)
FLAGS = {k: "--" + k.replace("_", "-") for k in OPTIONS if k not in ("protocol_options", "references")}
FLAGS["dataset_options"] = "--dataset-option"


def option_name(key: str) -> str:
    """``n_jobs (--n-jobs)``: the key as a config file and the API spell it, and its flag."""
    return f"{key} ({FLAGS[key]})" if key in FLAGS else key


def check_options(options: dict, where: str = "") -> None:
    """Refuse unknown option names and values their declaration (`RUN_OPTIONS`) does not
    accept, with one `UsageError` naming the key (and ``where``: the config file).
    ``None`` means "not given" (the command line's unset flags)."""
    prefix = f"{where}: " if where else ""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"{prefix}unknown run option(s) {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(OPTIONS)}")
    for key, value in options.items():
        if value is not None and not RUN_OPTIONS[key].accepts(value):
            shown = str(value) if isinstance(value, Path) else value
            raise UsageError(f"{prefix}{option_name(key)}: {shown!r} is not accepted; it takes "
                             f"{RUN_OPTIONS[key].describe()}")


def method_texts(table: dict) -> list[str]:
    """A table method -> parameters as the specs it means: ``{"aa-knn": {"k": 3}}`` ->
    ``["aa-knn[k=3]"]`` (a key's own bracket, e.g. ``mpcl[w/o PRD]``, is kept), so a table goes
    through the one parser that checks names, variants and declared constraints."""
    from methods.registry import format_value

    out = []
    for name, params in table.items():
        inner = ",".join(f"{k}={format_value(v)}" for k, v in (params or {}).items())
        if not inner:
            out.append(name)
        elif name.rstrip().endswith("]"):
            out.append(f"{name.rstrip()[:-1]},{inner}]")
        else:
            out.append(f"{name}[{inner}]")
    return out


@dataclass(frozen=True)
class RunSpec:
    """A run: what is computed (methods, data, protocol, preset, seeds, tuning, normalisation,
    references) and where and how (output directory, workers, time limit, cluster).

    ``methods`` holds `methods.registry.MethodSpec` objects; ``protocol_options`` the
    splitter's options plus ``normalize`` when it is not ``"none"``; ``drops`` the modality
    drops of an experiment part (not a user option).
    """

    methods: tuple
    dataset: str = "synthetic"
    dataset_options: dict = field(default_factory=dict)
    protocol: str = "subject-dependent"
    protocol_options: dict = field(default_factory=dict)
    preset: str = "quick"
    seeds: tuple[int, ...] = (0,)
    split_seed: int | None = None
    tune: int | None = None
    # add the prior and (where the data has a stimulus) the stimulus oracle unless listed; on in
    # every spec `build` makes (command line, config, API), off for a bare RunSpec
    references: bool = False
    # deterministic torch algorithms (GPU); None: the preset's rule (benchmark.presets)
    deterministic: bool | None = None
    out: Path | None = None
    n_jobs: int = 1
    time_limit: float | None = None
    threads_per_job: int = 1
    scheduler: str | None = None
    dask_local: int = 0
    drops: tuple[tuple[str, ...], ...] = ((),)
    # the options as given (command line and config file), for the warm re-run fast path
    request: dict | None = field(default=None, compare=False)

    @property
    def deterministic_jobs(self) -> bool:
        from .presets import DETERMINISTIC

        return DETERMINISTIC[self.preset] if self.deterministic is None else self.deterministic

    def split_seed_of(self, seed: int) -> int:
        """The seed that draws the partition of run seed ``seed``: itself, unless fixed."""
        return seed if self.split_seed is None else self.split_seed

    def resolved_out(self) -> Path:
        from .rundir import RunDir

        return Path(self.out) if self.out else RunDir.default(self.dataset, self.protocol, self.preset).root

    def to_dict(self) -> dict:
        """The spec as plain JSON values, in the option names `build` takes; what
        determines the results, not where they are written or how many workers computed them."""
        options = dict(self.protocol_options)
        out = {"methods": [m.reference for m in self.methods], "dataset": self.dataset,
               "dataset_options": dict(self.dataset_options), "protocol": self.protocol,
               "normalize": options.pop("normalize", "none"), "protocol_options": options,
               "preset": self.preset, "seeds": list(self.seeds), "split_seed": self.split_seed,
               "tune": self.tune, "references": self.references, "deterministic": self.deterministic}
        return json.loads(json.dumps(out, default=str))


def build(**options) -> RunSpec:
    """A validated `RunSpec` from options named as the command line's flags (see the
    module docstring); unknown names and bad values raise `UsageError` naming them."""
    from core.params import ParameterError
    from methods.registry import resolve_methods

    from . import validate

    check_options(options)
    given = {k: v for k, v in options.items() if v is not None}
    if given.get("scheduler"):
        validate.scheduler(given["scheduler"])
    if "out" in given:
        validate.out_kind(Path(given["out"]), given.get("protocol", "subject-dependent"))
    preset = given.get("preset", "quick")
    dataset = given.get("dataset", "synthetic")
    dataset_options = dict(given.get("dataset_options") or {})
    if "data_root" in given:
        dataset_options["data_root"] = str(given["data_root"])
    validate.dataset_options(dataset, dataset_options)
    protocol = given.get("protocol", "subject-dependent")
    protocol_options = dict(given.get("protocol_options") or {})
    flags = dict(PROTOCOL_FLAGS)
    for key in PROTOCOL_FLAGS:
        if key in options and (options[key] is not None or key == "folds"):
            protocol_options[key] = validate.folds(options[key]) if key == "folds" else options[key]
    normalize = given.get("normalize", protocol_options.pop("normalize", "none"))
    if normalize not in ("none", "subject"):  # from protocol_options, which the table leaves open
        raise UsageError(f"protocol_options normalize={normalize!r}: expected 'none' or 'subject'")
    if normalize != "none":  # only then in the job key, so existing keys do not change
        protocol_options["normalize"] = normalize
    validate.protocol(protocol, protocol_options, flags)
    tune, split_seed = given.get("tune"), given.get("split_seed")
    asked = given.get("methods", "all")
    if isinstance(asked, dict):  # {"aa-knn": {"k": 3}} is aa-knn[k=3]: every part is used
        asked = method_texts(asked)
    if isinstance(asked, str):  # as typed: broken plugins and empty lists are named
        methods = validate.methods(asked)
    else:
        try:
            methods = resolve_methods(asked)
        except (KeyError, TypeError, ParameterError) as exc:
            raise UsageError(f"--methods: {exc.args[0]}") from None
        validate.unique_methods(methods)
    validate.buildable(methods, preset)
    return RunSpec(methods=tuple(methods), dataset=dataset, dataset_options=dataset_options,
                   protocol=protocol, protocol_options=protocol_options, preset=preset,
                   seeds=validate.seeds(given.get("seeds", "0")), split_seed=split_seed, tune=tune,
                   references=given.get("references", True),
                   deterministic=given.get("deterministic"),
                   out=Path(given["out"]) if "out" in given else None,
                   n_jobs=validate.n_jobs(given.get("n_jobs")), time_limit=given.get("time_limit"),
                   scheduler=given.get("scheduler"), dask_local=given.get("dask_local", 0),
                   request=request(options))


def request(options: dict) -> dict:
    """The options that decide a run's results, as given (canonical JSON values): what the warm
    re-run fast path compares with the finished run's, without importing any method."""
    decisive = {k: v for k, v in options.items()
                if v is not None and k not in ("out", "n_jobs", "time_limit", "scheduler", "dask_local")}
    return json.loads(json.dumps(decisive, sort_keys=True, default=str))


def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are each given once: a key given twice would silently drop the
    first value (TOML's parser refuses it itself)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} is given twice")
        out[key] = value
    return out


def read_config(path: Path) -> dict:
    """Run options from a TOML, YAML or JSON file (a run's ``run.json`` included: its ``spec``),
    as `build` takes them; `UsageError` naming the file when it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text, object_pairs_hook=_unique_keys)
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # the parsers' own errors (TOML, YAML, JSON) say where
        raise UsageError(f"--config {path}: not valid {path.suffix.lstrip('.') or 'JSON'} ({exc})") from None
    if isinstance(data, dict) and "jobs" in data and "spec" in data:  # a run's run.json
        from .manifest import Manifest

        try:
            data = Manifest.from_dict(data).spec
        except ValueError as exc:
            raise UsageError(f"--config {path}: a damaged run.json ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a table of run options ({', '.join(OPTIONS)})")
    check_options(data, where=f"--config {path}")  # named by the file, before flags are merged
    return data


__all__ = ["OPTIONS", "RUN_OPTIONS", "RunSpec", "build", "check_options", "read_config"]
