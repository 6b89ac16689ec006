"""Cost table: per-label means and totals from constructed timings."""
from __future__ import annotations

import pandas as pd
import pytest

from reports.costs import cost_frame, cost_latex, cost_markdown


@pytest.fixture
def results():
    return pd.DataFrame({
        "label": ["A", "A", "A", "B", "B"],
        "status": ["ok", "ok", "failed", "ok", "ok"],
        "fit_seconds": [1.0, 3.0, 100.0, 0.5, 0.5],
        "predict_seconds": [0.1, 0.3, None, 0.00002, 0.00004],
        "n_parameters": [1000, 1000, None, 10, 12],
    })


def test_means_and_totals_leave_out_failed_jobs(results):
    f = cost_frame(results)
    assert list(f.index) == ["A", "B"]
    assert f.at["A", "jobs"] == 3 and f.at["A", "failed"] == 1
    assert f.at["A", "fit_mean"] == pytest.approx(2.0) and f.at["A", "fit_total"] == pytest.approx(4.0)
    assert f.at["A", "predict_mean"] == pytest.approx(0.2)
    assert f.at["B", "predict_total"] == pytest.approx(0.00006)
    assert f.at["A", "parameters"] == "1,000" and f.at["B", "parameters"] == "10–12"


def test_rendering(results):
    f = cost_frame(results)
    md = cost_markdown(f, "dmer — loso")
    assert "### dmer — loso — costs" in md and "| A" in md and "0.00003" in md and "e-" not in md
    tex = cost_latex(f, "dmer — loso")
    assert r"\toprule" in tex and "A & 3 & 1 & 2.00" in tex


def test_no_parameter_count():
    f = cost_frame(pd.DataFrame({"label": ["A"], "status": ["ok"], "fit_seconds": [1.0],
                                 "predict_seconds": [1.0], "n_parameters": [None]}))
    assert f.at["A", "parameters"] == "—"
