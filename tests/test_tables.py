"""Table rendering against reviewed golden files (regenerate deliberately with
UPDATE_GOLDEN=1 and review the diff)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.metrics import METRICS
from reports.tables import build_table, to_latex, to_markdown

GOLDEN = Path(__file__).parent / "golden"


def _results():
    rng = np.random.default_rng(0)
    rows = []
    methods = [("Prior", "reference", 0.10), ("AA-KNN", "LDL", 0.05), ("PT-SVM", "LDL", 0.05),
               ("MPCL", "multimodal EDL", 0.02)]
    for label, family, level in methods:
        for block in range(3):
            vals = {m: level + 0.01 * block for m in METRICS}
            vals["cosine"] = vals["intersection"] = 1 - level - 0.01 * block
            rows.append({"label": label, "family": family, "block": str(block), "seed": 0,
                         "status": "ok", "error": "", **vals})
    rows.append({"label": "Broken", "family": "MER", "block": "0", "seed": 0, "status": "failed",
                 "error": "RuntimeError: boom", **{m: np.nan for m in METRICS}})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("fmt,render", [("md", to_markdown), ("tex", to_latex)])
def test_golden(fmt, render):
    text = render(build_table(_results(), "toy — subject-dependent"))
    path = GOLDEN / f"table.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_ties_share_rank_and_failed_column_is_shown():
    t = build_table(_results(), "toy")
    assert t.ranks.at["kl", "AA-KNN"] == t.ranks.at["kl", "PT-SVM"] == 2
    assert t.ranks.at["kl", "Prior"] == 4 and t.ranks.at["kl", "MPCL"] == 1
    md = to_markdown(t)
    assert "failed" in md and "Broken: 1 of 1 jobs did not finish (RuntimeError: boom)" in md
