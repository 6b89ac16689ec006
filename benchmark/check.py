"""The metric regression gate: compare a run's table means with a committed baseline.

What the gate is for
--------------------
It catches a *code change that moves numbers*: a fix or a slip in a method, the training loop,
a split, normalisation, features or a metric. It must pass on any x86-64 machine for an
unchanged checkout, so it must not fail on what merely differs between machines: the math
kernel that OpenBLAS, MKL and torch pick for the processor (SSE, AVX2, AVX-512 code paths round
differently), nor on re-seeding. Each cell's tolerance is therefore measured, not guessed.

Tables and columns are keyed by structured fields, not by display text
-------------------------------------------------------------------------
A table is the records sharing a `benchmark.results.TableKey` (grouped by
`benchmark.results.group`, the one grouping every reader uses): dataset and its options
(without paths: the same recordings elsewhere are the same table), protocol and its options
(``normalize`` taken out into its own field, "none" when absent), preset and the table's tuning
budget (the largest per-method budget, 0 for defaults). A column is a method
spec (`column_spec`): name, variant, parameters, dropped modalities and tuning budget.
Column labels (and each table's key in brief, its "title") are stored beside them for people
to read, never matched: rewording a table title or a column label changes nothing. Seeds are not part of the key (a seed run of
the same table is the same table); the baseline records them, and a run with other seeds is
noted.

A table's means are computed here from the records, as the tables compute them:
`reports.tables.build_table` over `benchmark.records.records_frame` rows of the
table (the trial-balanced mean where available), with each column's label replaced by its
spec so that two specs never share a column.

Tolerances: the rule
--------------------
``check RUN --baseline FILE --update --spread RUN2 RUN3 ...`` writes the baseline from RUN's
means. Each extra run is classified by what differs from RUN in its records:

- a **seed run** has other model seeds and the same math kernels and partitions (make it with
  ``--seeds 1 --split-seed 0`` for a RUN made with ``--seeds 0``): RUN's and the seed runs'
  means give the seed standard deviation of each cell (ddof 1; with one seed run it is
  ``|Δ| / √2``, a one-degree-of-freedom estimate);
- a **kernel run** has the same seeds and other math kernels (provenance's ``kernel``; make it
  with ``OPENBLAS_CORETYPE=Prescott MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default``):
  each gives ``|Δ|`` from RUN, the largest one is kept;
- anything else (same seeds and kernels: it measures nothing; other seeds *and* kernels, or
  other partitions: the sources cannot be told apart) is refused with the reason.

Per cell::

    tolerance = max(3 × cross-kernel |Δ|, 2 × seed std (if measured), floor[metric])

and the baseline records the tolerance, which term set it (``derived``: "kernel", "seed" or
"floor") and the measured ``kernel_delta`` and ``seed_std``, plus a top-level ``derivation``
naming the runs, their kernels, seeds and commits.

Why these factors. *Kernel, ×3*: two kernels give one sample of how far rounding alone moves
a cell, while the next machine may pick a third kernel. Prescott (SSE3, the oldest OpenBLAS
target every x86-64 processor runs) with torch's DEFAULT capability and MKL limited to SSE4.2
is the kernel farthest from today's AVX2/AVX-512 defaults, so its |Δ| is close to the largest
any pair of kernels shows (in TLR-DL's measurements before its version 4, docs/methods/tlr-dl.md,
the Prescott-vs-SkylakeX gap is the largest of the four kernels, and every other kernel lies
within it); ×3 is the margin for machines between the two and for an estimate from a single
pair. *Seed, ×2*: a movement
within two seed standard deviations (the 95 % band of a normal) cannot be told from
re-seeding; a change that draws its random numbers differently (a reordered shuffle, another
torch release's initialiser) moves seeded methods by that much and changes no conclusion the
table's own spread allows. Cells of methods that use no randomness get 0 here. *Floor*: a cell
with no measured spread (deterministic, kernel-independent methods; a spread run where the
column failed) still needs a margin for libm and compiler rounding that two kernels on one
machine do not show. The floors (`FLOORS`) are about 1/500–1/1000 of each metric's
typical value on the smoke presets and some 100× the largest cross-kernel |Δ| of the stable
classical methods there (≤ 2e-6), while the smallest change a code edit makes to a smoke table
is typically ≥ 1e-3: the gate stays sharp for stable methods and measured-loose for
ill-conditioned ones.

A cell worse than the baseline by more than its tolerance (in the metric's own direction) is a
regression; better by more is reported as an improvement (update the baseline deliberately).
A baseline table absent from the run is a regression, and so is a column missing from a shared
table or one whose jobs failed; a column new in the run is a note. A run that shares no table
with the baseline is a usage error (``UsageError``; the CLI exits 2) naming both sides' keys.

File format (``"format": "benchmark-baseline/2"``)::

    {"format": "benchmark-baseline/2",
     "rule": "...", "floors": {metric: floor}, "derivation": "which runs, kernels, seeds",
     "runs": {"baseline": {...}, "spread": [{"path", "kind", "seeds", "kernels", "commits"}]},
     "tables": [{"key": {"dataset": {"name", "options"}, "protocol": {"name", "options"},
                         "normalize", "preset", "tune"},
                 "title": key_text(key), for people only, "seeds": [[seed, split_seed], ...],
                 "columns": [{"method": {"name", "variant", "params", "drop", "tune"},
                              "label": "display only",
                              "metrics": {metric: {"value", "tolerance", "derived",
                                                   "kernel_delta", "seed_std"}}}]}]}

The first format (tables keyed by title, fixed tolerances) is refused with a message saying
how to regenerate the file.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.metrics import HIGHER_IS_BETTER, METRICS

from .errors import BaselineError, UsageError
from .provenance import kernel_signature
from .results import TableKey, canonical, group, options_text

FORMAT = "benchmark-baseline/2"
KERNEL_FACTOR, SEED_FACTOR = 3.0, 2.0
FLOORS = {"chebyshev": 1e-4, "kl": 1e-4, "cosine": 1e-4, "intersection": 1e-4,
          "clark": 5e-4, "canberra": 1e-3}
RULE = (f"tolerance = max({KERNEL_FACTOR:g} x cross-kernel |delta|, {SEED_FACTOR:g} x seed std "
        "(ddof 1, over the baseline run and the seed runs), floor[metric]); see benchmark/check.py")
REGENERATE = ("regenerate it with `python -m benchmark check RUN --baseline FILE --update --spread "
              "SEED_RUN KERNEL_RUN` (RUN, SEED_RUN and KERNEL_RUN: the same `run` command, then with "
              "`--seeds 1 --split-seed 0`, then under OPENBLAS_CORETYPE=Prescott "
              "MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default; see benchmark/check.py)")


# ----------------------------------------------------------------------------- keys
def key_text(key: dict) -> str:
    """A stored table key in brief (`benchmark.results.TableKey.text`)."""
    return TableKey.from_dict(key).text()


def column_spec(record: dict) -> dict:
    """The method spec of a record's column: name, variant, parameters, dropped modalities,
    tuning budget."""
    cfg = record["config"]
    m = cfg["method"]
    return {"name": m["name"], "variant": m.get("variant") or "", "params": m.get("params") or {},
            "drop": sorted(cfg.get("drop") or []), "tune": int(m.get("tune") or 0)}


def spec_text(spec: dict) -> str:
    text = spec["name"] + (f" {spec['variant']}" if spec["variant"] else "")
    text += options_text(spec["params"]) if spec["params"] else ""
    text += "".join(f" w/o {d}" for d in spec["drop"])
    return text + (f" tune={spec['tune']}" if spec["tune"] else "")


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: canonical(obj)}


def key_difference(a: dict, b: dict) -> str:
    """The fields where two keys differ, e.g. ``protocol.options.group: trial vs window``."""
    fa, fb = _flat(a), _flat(b)
    return ", ".join(f"{k}: {fa.get(k, '(absent)')} vs {fb.get(k, '(absent)')}"
                     for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k))


# ----------------------------------------------------------------------------- a run's tables
@dataclass
class Column:
    spec: dict
    label: str
    means: dict[str, float]  # metric -> mean; empty when every job failed
    jobs: int = 0
    failed: int = 0
    error: str = ""


@dataclass
class RunTable:
    key: dict
    seeds: list[list[int]]
    columns: dict[str, Column] = field(default_factory=dict)  # canonical(spec) -> Column


def seeds_of(records: list[dict]) -> list[list[int]]:
    """The sorted (model seed, split seed) pairs of ``records``."""
    pairs = {(int(r["config"]["seed"]), int(r["config"]["protocol"].get("split_seed", r["config"]["seed"])))
             for r in records}
    return [list(p) for p in sorted(pairs)]


def run_tables(records: list[dict]) -> dict[str, RunTable]:
    """canonical(table key) -> `RunTable` with each column's means: the tables of
    `benchmark.results.group`, each column labelled by its method spec so that two specs
    never share a column, whatever the display labels say."""
    out = {}
    for tr in group(records):
        frame = tr.frame.copy()
        specs = [canonical(column_spec(r)) for r in tr.records]
        labels = dict(zip(specs, frame["label"]))
        frame["label"] = specs
        table = tr.table(frame)
        rt = RunTable(tr.key.to_dict(), seeds_of(tr.records))
        for spec in dict.fromkeys(specs):
            rows = frame[frame["label"] == spec]
            bad = rows[rows["status"] != "ok"]
            means = ({m: float(table.means.at[m, spec]) for m in METRICS}
                     if spec in table.means.columns else {})
            rt.columns[spec] = Column(json.loads(spec), labels[spec], means, len(rows), len(bad),
                                      str(bad["error"].iloc[0])[:160] if len(bad) else "")
        out[canonical(rt.key)] = rt
    return out


# ----------------------------------------------------------------------------- run identity
def kernels_of(records: list[dict]) -> list[str]:
    return sorted({kernel_signature(r.get("provenance") or {}) for r in records})


def _partitions(records: list[dict]) -> set:
    return {(TableKey.of_config(r["config"]).untuned(), r["config"]["protocol"].get("block"),
             r["config"]["protocol"].get("fold"),
             r["config"]["protocol"].get("indices") or r["config"]["protocol"].get("split_seed"))
            for r in records}


def run_summary(path, records: list[dict]) -> dict:
    return {"path": str(path), "seeds": seeds_of(records), "kernels": kernels_of(records),
            "commits": sorted({str((r.get("provenance") or {}).get("git_commit")) for r in records}),
            "device_names": sorted({str((r.get("provenance") or {}).get("device_name")) for r in records})}


def classify(base: dict, base_records: list[dict], other: dict, other_records: list[dict]) -> str:
    """"seed" or "kernel" (module docstring); raises UsageError saying why a run is neither."""
    where = f"--spread {other['path']}"
    for s in (base, other):
        if "unknown" in s["kernels"]:
            raise UsageError(f"{where}: the records of {s['path']} carry no kernel provenance (made "
                             "before it was recorded); re-run them with this version")
        if len(s["kernels"]) > 1:
            raise UsageError(f"{where}: {s['path']} mixes math kernels ({'; '.join(s['kernels'])}), "
                             "e.g. resumed on another machine; re-run it in one place")
    same_seeds, same_kernel = base["seeds"] == other["seeds"], base["kernels"] == other["kernels"]
    if same_seeds and not same_kernel:
        return "kernel"
    if same_kernel and not same_seeds:
        shared = _partitions(base_records) & _partitions(other_records)
        if _partitions(other_records) - shared:
            raise UsageError(f"{where}: its partitions differ from {base['path']}'s (other split "
                             "seeds), so its spread mixes splits and models; run it with "
                             f"`--split-seed {base['seeds'][0][1]}` and other --seeds")
        return "seed"
    if same_seeds:
        raise UsageError(f"{where}: same seeds and math kernel ({base['kernels'][0]}) as "
                         f"{base['path']}: it measures no spread; give a run with other --seeds "
                         "(and --split-seed), or one under OPENBLAS_CORETYPE=Prescott "
                         "MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default")
    raise UsageError(f"{where}: both its seeds ({other['seeds']}) and its math kernel "
                     f"({other['kernels'][0]}) differ from {base['path']}'s, so the two sources "
                     "cannot be told apart; vary one at a time")


# ----------------------------------------------------------------------------- derivation
def _ceil(x: float) -> float:
    """``x`` rounded up to 8 decimals (a stored tolerance is never below the rule's)."""
    return math.ceil(x * 1e8) / 1e8


def _sig(x: float | None) -> float | None:
    """A measurement for the file: 3 significant digits."""
    return None if x is None else float(f"{x:.3g}")


def cell_tolerance(metric: str, kernel_delta: float | None, seed_std: float | None) -> tuple[float, str]:
    """(tolerance, derived) by the rule of the module docstring; ties go to the measured term."""
    terms = [("kernel", KERNEL_FACTOR * kernel_delta if kernel_delta is not None else -1.0),
             ("seed", SEED_FACTOR * seed_std if seed_std is not None else -1.0),
             ("floor", FLOORS[metric])]
    best = max(v for _, v in terms)
    return _ceil(best), next(name for name, v in terms if v == best)


def derive(path, records: list[dict], spread: list[tuple[object, list[dict]]]) -> dict:
    """The baseline payload of the run at ``path`` (its ``records``), with tolerances from the
    ``spread`` runs ((path, records) each; classified by `classify`)."""
    base = run_summary(path, records)
    tables = run_tables(records)
    if not tables:
        raise UsageError(f"{path}: no records to write a baseline from")
    kinds = []
    for other_path, other_records in spread:
        other = run_summary(other_path, other_records)
        other["kind"] = classify(base, records, other, other_records)
        other_tables = run_tables(other_records)
        if not set(other_tables) & set(tables):
            raise UsageError(f"--spread {other_path} shares no table with {path}: its tables are "
                             f"[{'; '.join(key_text(t.key) for t in other_tables.values())}], "
                             f"{path}'s are [{'; '.join(key_text(t.key) for t in tables.values())}]")
        kinds.append((other, other_tables))
    out_tables = []
    for tkey, table in tables.items():
        columns = []
        for ckey, col in table.columns.items():
            if not col.means or col.failed:
                continue  # a failed column has nothing to hold a run to (noted in derivation)
            metrics = {}
            for m in METRICS:
                value = col.means[m]
                seed_vals = [value]
                kernel_deltas = []
                for other, other_tables in kinds:
                    o = other_tables.get(tkey)
                    oc = o.columns.get(ckey) if o else None
                    if oc is None or not oc.means or oc.failed or not np.isfinite(oc.means[m]):
                        continue
                    if other["kind"] == "seed":
                        seed_vals.append(oc.means[m])
                    else:
                        kernel_deltas.append(abs(oc.means[m] - value))
                kd = max(kernel_deltas) if kernel_deltas else None
                sd = float(np.std(seed_vals, ddof=1)) if len(seed_vals) > 1 else None
                tol, derived = cell_tolerance(m, kd, sd)
                metrics[m] = {"value": round(value, 8), "tolerance": tol, "derived": derived,
                              "kernel_delta": _sig(kd), "seed_std": _sig(sd)}
            columns.append({"method": col.spec, "label": col.label, "metrics": metrics})
        out_tables.append({"key": table.key, "title": key_text(table.key), "seeds": table.seeds,
                           "columns": columns})
    failed = [f"{key_text(t.key)} | {c.label} ({c.failed} of {c.jobs} jobs failed: {c.error})"
              for t in tables.values() for c in t.columns.values() if not c.means or c.failed]
    return {"format": FORMAT, "rule": RULE, "floors": FLOORS,
            "derivation": _derivation_text(base, [o for o, _ in kinds], failed),
            "runs": {"baseline": base, "spread": [o for o, _ in kinds]},
            "tables": out_tables}


def _derivation_text(base: dict, others: list[dict], failed: list[str]) -> str:
    def run(s):
        return (f"{s['path']} (seeds [model, split] {s['seeds']}; kernel {'; '.join(s['kernels'])}; "
                f"commit {', '.join(c[:12] for c in s['commits'])}; {', '.join(s['device_names'])})")
    text = [f"Values: the table means of {run(base)}."]
    seeds = [o for o in others if o["kind"] == "seed"]
    kernels = [o for o in others if o["kind"] == "kernel"]
    text.append("Seed spread: " + ("; ".join(run(o) for o in seeds) if seeds else "not measured") + ".")
    text.append("Kernel spread: " + ("; ".join(run(o) for o in kernels) if kernels else "not measured") + ".")
    commits = {c for s in [base, *others] for c in s["commits"]}
    if len(commits) > 1:
        text.append(f"Note: the runs come from {len(commits)} commits, so the spread may include "
                    "code changes.")
    if failed:
        text.append("Left out (failed jobs): " + "; ".join(failed) + ".")
    text.append("Rule: " + RULE + ".")
    return " ".join(text)


# ----------------------------------------------------------------------------- compare
def compare(current: dict[str, RunTable], baseline: dict, run_kernels: list[str] | None = None
            ) -> tuple[list[str], list[str]]:
    """(regressions, other differences) as readable lines; raises UsageError when the run
    shares no table with the baseline."""
    base_tables = {canonical(t["key"]): t for t in baseline["tables"]}
    if not set(base_tables) & set(current):
        diff = ""
        if len(base_tables) == 1 and len(current) == 1:
            diff = (" (they differ in " + key_difference(next(iter(current.values())).key,
                                                          next(iter(base_tables.values()))["key"]) + ")")
        raise UsageError(
            f"--baseline {baseline.get('_path', 'FILE')}: the run's table keys and the baseline's differ, "
            f"no table in common{diff}: run [{'; '.join(key_text(t.key) for t in current.values())}], "
            f"baseline [{'; '.join(key_text(t['key']) for t in base_tables.values())}]")
    regressions, notes = [], []
    for tkey, bt in base_tables.items():
        name = key_text(bt["key"])
        if tkey not in current:
            regressions.append(f"table missing from the run: {key_text(bt['key'])}")
            continue
        rt = current[tkey]
        if rt.seeds != bt.get("seeds", rt.seeds):
            notes.append(f"{name}: the run's seeds {rt.seeds} differ from the baseline's "
                         f"{bt['seeds']}: its numbers also differ by seed")
        for bc in bt["columns"]:
            ckey = canonical(bc["method"])
            label = bc.get("label") or spec_text(bc["method"])
            col = rt.columns.get(ckey)
            if col is None or not col.means:
                why = f"{col.failed} of {col.jobs} jobs failed: {col.error}" if col else "not run"
                regressions.append(f"{name}: column {label!r} missing ({why})")
                continue
            if col.failed:
                regressions.append(f"{name}: column {label!r}: {col.failed} of {col.jobs} jobs "
                                   f"failed ({col.error})")
                continue
            for m, cell in bc["metrics"].items():
                ref, tol, val = cell["value"], cell["tolerance"], col.means.get(m, float("nan"))
                delta = val - ref
                worse = -delta if HIGHER_IS_BETTER[m] else delta
                line = (f"{name} | {label} | {m}: baseline {ref:.4f} -> now {val:.4f} "
                        f"(Δ {delta:+.5f}, tol {tol:.5f} from {cell.get('derived', '?')})")
                if not np.isfinite(val) or worse > tol:
                    regressions.append("REGRESSION " + line)
                elif worse < -tol:
                    notes.append("improved   " + line)
        known = {canonical(c["method"]) for c in bt["columns"]}
        for ckey, col in rt.columns.items():
            if ckey not in known:
                notes.append(f"new column (not in baseline): {name} | {col.label}")
    for tkey, rt in current.items():
        if tkey not in base_tables:
            notes.append(f"new table (not in baseline): {key_text(rt.key)}")
    measured = set(baseline.get("runs", {}).get("baseline", {}).get("kernels", []))
    for o in baseline.get("runs", {}).get("spread", []):
        measured |= set(o.get("kernels", []))
    if run_kernels and measured and not set(run_kernels) <= measured:
        notes.append(f"this run's math kernel ({'; '.join(run_kernels)}) is not among those the "
                     f"tolerances were measured on ({'; '.join(sorted(measured))}); the ×"
                     f"{KERNEL_FACTOR:g} margin is meant to cover it")
    return regressions, notes


# ----------------------------------------------------------------------------- files
def load_baseline(path: Path) -> dict:
    """The baseline at ``path``, checked against the format of the module docstring. Raises
    BaselineError naming the file and the offending entry; a file of the first format (tables
    keyed by title) is refused with how to regenerate it."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except OSError as exc:
        raise BaselineError(f"--baseline {path}: cannot read ({exc.strerror or exc}); create one with "
                            "`check RUN_DIR --baseline FILE --update`") from exc
    except ValueError as exc:
        raise BaselineError(f"--baseline {path}: not valid JSON ({exc})") from exc

    def bad(where: str, what: str) -> BaselineError:
        return BaselineError(f"--baseline {path}: {where} {what}; expected the {FORMAT} format "
                             "described in benchmark/check.py, with metrics among "
                             f"{', '.join(METRICS)}")

    if not isinstance(payload, dict):
        raise bad("top level", "is not an object")
    if payload.get("format") != FORMAT:
        if isinstance(payload.get("tables"), dict):
            raise BaselineError(f"--baseline {path}: old format (tables keyed by their titles, fixed "
                                f"tolerances), no longer read; {REGENERATE}")
        raise bad("top level", f"has format {payload.get('format')!r}, not {FORMAT!r}")
    if not isinstance(payload.get("tables"), list):
        raise bad("top level", "has no 'tables' list")
    for i, table in enumerate(payload["tables"]):
        if not isinstance(table, dict) or not isinstance(table.get("key"), dict):
            raise bad(f"table {i}", "has no 'key' object")
        missing = {"dataset", "protocol", "normalize", "preset", "tune"} - set(table["key"])
        if missing:
            raise bad(f"table {i}", f"key lacks {', '.join(sorted(missing))}")
        # stored keys of earlier versions held the data's path: read without it
        table["key"] = TableKey.from_dict(table["key"]).to_dict()
        if not isinstance(table.get("columns"), list):
            raise bad(f"table {i}", "has no 'columns' list")
        for j, col in enumerate(table["columns"]):
            where = f"table {i} column {j}"
            if not isinstance(col, dict) or not isinstance(col.get("method"), dict) \
                    or not isinstance(col.get("metrics"), dict):
                raise bad(where, "needs 'method' and 'metrics' objects")
            for m, cell in col["metrics"].items():
                if m not in METRICS:
                    raise bad(where, f"has unknown metric {m!r}")
                for part in ("value", "tolerance"):
                    v = cell.get(part) if isinstance(cell, dict) else None
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise bad(where, f"metric {m!r} {part} is {v!r}, not a number")
    payload["_path"] = str(path)
    return payload


def write_baseline(payload: dict, path: Path) -> None:
    payload = {k: v for k, v in payload.items() if not k.startswith("_")}
    Path(path).write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
