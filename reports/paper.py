"""Our results beside the MPCL paper's published ones (Tables I–VII), with the difference.

The published values are shipped as ``reports/reference/mpcl_paper_tables.json``. A comparison
needs three mappings, all explicit here:

- dataset: ``dmer`` → DMER, ``wesad`` → WESAD (the chest RespiBAN ECG/EDA/EMG/ACC recordings the
  paper uses). Every other dataset is refused with a ``ValueError`` saying why — in particular
  ``synthetic*`` (generated data), ``wesad-e4`` (the wrist device: other sensors and features than
  the paper's WESAD), ``dmer-sample`` (one subject) and ``ldl:*`` (other data sets);
- protocol: ``subject-dependent`` (random 80/20 of windows per subject) → the subject-dependent
  tables, ``loso`` → the subject-independent ones; the trial-grouped subject-dependent variant
  is refused, as the paper splits windows at random;
- column label (``Job.label``: display name, variant, dropped modalities): a baseline's label is
  matched, ignoring case, with Table I/II's columns ("HELO" → HeLo); ``MPCL <variant>`` with the
  rows of the module ablation (III/IV: "w/o PRD"), modality ablation (V/VI: "w/o EEG") and
  alternative design (VII: "w/ CrossAttn") tables of the dataset. Full MPCL is identical in all
  of them and is taken from Table I/II. Labels with no published counterpart (e.g. Prior, a
  method the paper does not run) are kept, with no paper value.

The difference is ours - paper; ``better`` says whether ours is better given the metric's
direction.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from core.metrics import ARROWS, HIGHER_IS_BETTER, METRICS
from .tables import METRIC_TITLES, Table, _tex, build_table

REFERENCE = Path(__file__).with_name("reference") / "mpcl_paper_tables.json"
DATASETS = {"dmer": "DMER", "wesad": "WESAD"}
PROTOCOLS = {"subject-dependent": "subject-dependent", "loso": "loso"}
_REFUSALS = {
    "synthetic": "it is generated data, not the recordings the paper evaluates on",
    "wesad-e4": ("it is WESAD's wrist device (Empatica E4: BVP, EDA, TEMP, ACC), while the paper "
                 "uses the chest device's ECG, EDA, EMG and ACC"),
    "dmer-sample": "it holds one DMER subject, the paper averages over 73",
    "ldl": "it is a standard LDL data set on which the paper reports nothing",
}
# (module ablation, modality ablation) table numbers per dataset.
_ABLATION_TABLES = {"DMER": (3, 5), "WESAD": (4, 6)}
MPCL = "mpcl"


@lru_cache(maxsize=None)
def load_reference(path: Path = REFERENCE) -> dict:
    """The published tables (cached; treat as read-only)."""
    return json.loads(Path(path).read_text())


def paper_dataset(name: str) -> str:
    """The paper's name of dataset ``name``; ``ValueError`` explaining any refusal."""
    if name in DATASETS:
        return DATASETS[name]
    base = "synthetic" if name.startswith("synthetic") else name.split(":")[0]
    why = _REFUSALS.get(base, "the paper reports results on DMER and WESAD only")
    raise ValueError(f"cannot compare a run on dataset {name!r} with the MPCL paper: {why}. "
                     f"Paper comparisons are made for runs on {', '.join(DATASETS)}.")


def paper_protocol(name: str, options: dict | None = None) -> str:
    """The paper's protocol key of ``name`` (with its ``options``); ``ValueError`` otherwise."""
    if name not in PROTOCOLS:
        raise ValueError(f"cannot compare protocol {name!r} with the MPCL paper: it reports "
                         f"{' and '.join(PROTOCOLS)} only")
    group = (options or {}).get("group", "trial")
    if name == "subject-dependent" and group != "window":
        raise ValueError(f"cannot compare {name!r} with group={group!r} with the MPCL paper: the "
                         "paper splits each subject's windows at random (re-run with --group window)")
    return PROTOCOLS[name]


def published_tables(dataset: str, protocol: str, ref: dict | None = None) -> dict[str, dict]:
    """{table name: {row label: {metric: value}}} published for a paper dataset and protocol."""
    ref = ref or load_reference()
    module, modality = _ABLATION_TABLES[dataset]
    main = "table1_subject_dependent" if protocol == "subject-dependent" else "table2_loso"
    module_t = f"table{module}_module_ablation_{dataset.lower()}"
    modality_t = f"table{modality}_modality_ablation_{dataset.lower()}"
    alternatives = "table7_alternative_designs"
    return {main: ref[main][dataset], module_t: ref[module_t][protocol],
            modality_t: ref[modality_t][protocol], alternatives: ref[alternatives][dataset][protocol]}


def published(label: str, tables: dict[str, dict]) -> tuple[str, dict[str, float]] | None:
    """(table name, metrics) published for our column ``label``, or None (see module docstring).

    ``tables`` is `published_tables`' result: the main table first, then the ablations.
    """
    key = " ".join(label.split()).casefold()
    (main, main_rows), *ablations = tables.items()
    candidates = [(main, main_rows, key)]
    if key.startswith(MPCL + " "):
        candidates += [(name, rows, key[len(MPCL) + 1:]) for name, rows in ablations]
    for name, rows, wanted in candidates:
        for row, values in rows.items():
            if row.casefold() == wanted:
                return name, values
    return None


def compare_table(table: Table, dataset: str, protocol: str,
                  protocol_options: dict | None = None) -> pd.DataFrame:
    """Long frame: one row per (column label, metric) with ours, paper, diff, better, source.

    ``dataset`` and ``protocol`` are our names (from the run's manifest); refuses (ValueError)
    when they have no published counterpart.
    """
    tables = published_tables(paper_dataset(dataset), paper_protocol(protocol, protocol_options))
    rows = []
    for col in table.columns:
        match = published(col, tables)
        for m in METRICS:
            ours = table.means.at[m, col] if col in table.means.columns else np.nan
            paper = match[1][m] if match else np.nan
            diff = ours - paper
            better = None if not np.isfinite(diff) or diff == 0 else bool((diff > 0) == HIGHER_IS_BETTER[m])
            rows.append({"label": col, "metric": m, "ours": ours, "paper": paper, "diff": diff,
                         "better": better, "source": match[0] if match else ""})
    return pd.DataFrame(rows)


def compare_results(results: pd.DataFrame,
                    protocol_options: dict | None = None) -> list[tuple[str, pd.DataFrame]]:
    """(title, `compare_table` frame) per (dataset, protocol) of a ``records_frame``; the
    report passes one table's rows at a time (the tables are made by ``benchmark.results``).

    The title names the preset when it is not ``paper`` (the paper's training budget), as the
    numbers are then not expected to match. Raises ValueError (before building anything) if any
    group has no published counterpart.
    """
    groups = list(results.groupby(["dataset", "protocol"], sort=False))
    for (dataset, protocol), _ in groups:  # refuse before doing any work
        paper_dataset(dataset)
        paper_protocol(protocol, protocol_options)
    out = []
    for (dataset, protocol), grp in groups:
        title = f"{dataset} — {protocol}"
        presets = sorted(set(grp["preset"])) if "preset" in grp else ["paper"]
        if presets != ["paper"]:
            title += f" ({', '.join(presets)} preset, not the paper's budget)"
        out.append((title, compare_table(build_table(grp, title, weighting="window"), dataset, protocol, protocol_options)))
    return out


def _rows(comparison: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and rows: three rows (ours, paper, Δ) per method, a metric per column."""
    header = ["Method", ""] + [f"{METRIC_TITLES[m]} {ARROWS[m]}" for m in METRICS]
    rows = []
    for label, grp in comparison.groupby("label", sort=False):
        grp = grp.set_index("metric")
        for i, (part, col) in enumerate((("ours", "ours"), ("paper", "paper"), ("Δ", "diff"))):
            rows.append([label if i == 0 else "", part]
                        + [_num(grp.at[m, col], signed=col == "diff") for m in METRICS])
    return header, rows


def _num(v: float, signed: bool = False) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _sources(comparison: pd.DataFrame) -> str:
    """The sentence under the table: which published tables were used, what is not in the paper."""
    used = sorted({s for s in comparison["source"] if s})
    missing = list(dict.fromkeys(comparison.loc[comparison["source"] == "", "label"]))
    text = f"Paper values from the MPCL paper, {', '.join(used) or 'no table'} (as published)."
    if missing:
        text += f" Not in the paper: {', '.join(missing)}."
    return text + " Δ = ours - paper."


def comparison_markdown(comparison: pd.DataFrame, title: str) -> str:
    """Markdown: ours / paper / Δ rows per method, a metric per column, then the sources."""
    header, rows = _rows(comparison)
    table = tabulate(rows, header, tablefmt="pipe", disable_numparse=True)
    return f"### {title} — ours vs paper\n\n{table}\n\n{_sources(comparison)}\n"


def comparison_latex(comparison: pd.DataFrame, title: str) -> str:
    """LaTeX (booktabs) version of `comparison_markdown`."""
    header, rows = _rows(comparison)

    def line(cells: list[str]) -> str:
        return " & ".join(_tex(c).replace("Δ", r"$\Delta$") for c in cells) + r" \\"

    body = [line(header), r"\midrule"]
    for i, r in enumerate(rows):
        if i and i % 3 == 0:
            body.append(r"\midrule")
        body.append(line(r))
    return "\n".join([r"\begin{table}[t]", r"\centering",
                      rf"\caption{{{_tex(title)} --- ours vs paper. {_tex(_sources(comparison))}}}",
                      r"\begin{tabular}{ll" + "c" * len(METRICS) + "}", r"\toprule", *body,
                      r"\bottomrule", r"\end{tabular}", r"\end{table}"]) + "\n"
