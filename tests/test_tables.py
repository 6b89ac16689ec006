"""Table rendering against reviewed golden files (regenerate deliberately with
UPDATE_GOLDEN=1 and review the diff)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.metrics import METRICS
from reports.tables import build_table, to_latex, to_markdown

GOLDEN = Path(__file__).parent / "golden"


def _results(new_columns: bool = True):
    """3 subjects × 2 seeds per method, each seed redrawing split and model (``split_seed ==
    seed``); with ``new_columns`` the frame has the trial-balanced means (the window mean + .005)
    and the test sizes, without it the frame of a run that predates them."""
    rows = []
    methods = [("Prior", "reference", 0.10), ("AA-KNN", "LDL", 0.05), ("PT-SVM", "LDL", 0.05),
               ("MPCL", "multimodal EDL", 0.02)]
    for label, family, level in methods:
        for block in range(3):
            for seed in (0, 1):
                vals = {m: level + 0.01 * block + 0.002 * seed for m in METRICS}
                vals["cosine"] = vals["intersection"] = 1 - level - 0.01 * block - 0.002 * seed
                if new_columns:
                    vals.update({f"{m}_trial": v + 0.005 for m, v in vals.items()},
                                block_kind="subject", split_seed=seed, n_train=100, n_test=40,
                                n_test_trials=4)
                rows.append({"label": label, "family": family, "block": str(block), "seed": seed,
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


def test_the_table_says_which_mean_it_ranks_and_the_effective_sample():
    notes = build_table(_results(), "toy").notes
    assert any(n.startswith("Ranked on the trial-balanced mean") and "12 distinct test labels" in n
               and "120 test windows" in n for n in notes)
    window = build_table(_results(), "toy", weighting="window")
    assert window.means.at["kl", "Prior"] == pytest.approx(0.111)  # trial means are + .005
    assert build_table(_results(), "toy").means.at["kl", "Prior"] == pytest.approx(0.116)
    old = build_table(_results(new_columns=False), "toy")
    assert old.weighting == "window" and any("not every job carries a trial-balanced mean" in n
                                             for n in old.notes)


def test_spread_note_says_when_seeds_mix_split_and_model_variation():
    md = to_markdown(build_table(_results(), "toy"))
    assert "seed sd 0.0014" in md and "mixes split and model variation" in md
    assert "mixes" not in to_markdown(build_table(_results(new_columns=False), "toy"))
    fixed = _results().assign(split_seed=7)  # the user fixed the split: seeds vary the model only
    md = to_markdown(build_table(fixed, "toy"))
    assert "model sd 0.0014" in md and "split sd" not in md.split("Spread:")[1].split("\n\n")[1]
