"""Render a run directory's tables (Markdown, LaTeX) from its records."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.tables import tables_by_protocol, to_latex, to_markdown

from .runner import load_run
from .store import atomic_write, records_frame


class IncompleteRunError(RuntimeError):
    """Some expected jobs of the run have no valid record."""


def render_run(out: Path, formats=("md", "tex"), allow_incomplete: bool = False) -> str:
    """Write ``table.md``/``table.tex`` for the run at ``out``; return the Markdown.

    Refuses (``IncompleteRunError``) when expected jobs are missing, unless
    ``allow_incomplete``, in which case the tables say what is missing.
    """
    manifest, records, missing = load_run(out)
    if missing and not allow_incomplete:
        raise IncompleteRunError(
            f"{out}: {len(missing)} of {len(manifest['jobs'])} jobs have no valid record; "
            "resume with the same `run` command, or pass --allow-incomplete")
    results = records_frame(records)
    tables = tables_by_protocol(results) if len(results) else []
    for t in tables:
        if missing:
            t.notes.append(f"INCOMPLETE: {len(missing)} of {len(manifest['jobs'])} jobs missing "
                           "from this run; these values are not final")
    md = "\n".join(to_markdown(t) for t in tables)
    if "md" in formats:
        atomic_write(Path(out) / "table.md", md.encode())
    if "tex" in formats:
        atomic_write(Path(out) / "table.tex", "\n".join(to_latex(t) for t in tables).encode())
    return md


def label_means(results: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{table title: {column label: {metric: mean}}} — what the regression gate compares."""
    out = {}
    for t in tables_by_protocol(results):
        out[t.title] = {c: {m: round(float(t.means.at[m, c]), 6) for m in t.means.index}
                        for c in t.means.columns}
    return out
