"""Paper comparison: name mapping, refusals, and the sign of the difference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports import paper
from core.metrics import METRICS
from reports.tables import build_table


def test_dataset_and_protocol_mapping():
    assert paper.paper_dataset("dmer") == "DMER" and paper.paper_dataset("wesad") == "WESAD"
    assert paper.paper_protocol("loso") == "loso"
    assert paper.paper_protocol("subject-dependent", {"group": "window"}) == "subject-dependent"


@pytest.mark.parametrize("name, reason", [("synthetic", "generated"), ("synthetic-wesad", "generated"),
                                          ("wesad-e4", "wrist"), ("dmer-sample", "one DMER subject"),
                                          ("ldl:SJAFFE", "LDL"), ("other", "DMER and WESAD only")])
def test_other_datasets_are_refused(name, reason):
    with pytest.raises(ValueError, match=reason) as err:
        paper.paper_dataset(name)
    assert repr(name) in str(err.value)


def test_unknown_or_grouped_protocol_is_refused():
    with pytest.raises(ValueError, match="k-fold"):
        paper.paper_protocol("k-fold")
    with pytest.raises(ValueError, match="at random"):
        paper.paper_protocol("subject-dependent", {"group": "trial"})


@pytest.mark.parametrize("dataset, protocol, label, table, row", [
    ("DMER", "subject-dependent", "HELO", "table1_subject_dependent", "HeLo"),
    ("WESAD", "loso", "PT-SVM", "table2_loso", "PT-SVM"),
    ("DMER", "loso", "MPCL", "table2_loso", "MPCL"),
    ("DMER", "subject-dependent", "MPCL w/o PRD", "table3_module_ablation_dmer", "w/o PRD"),
    ("WESAD", "loso", "MPCL w/o MSAF", "table4_module_ablation_wesad", "w/o MSAF"),
    ("DMER", "loso", "MPCL w/o EEG", "table5_modality_ablation_dmer", "w/o EEG"),
    ("DMER", "loso", "MPCL w/o Video", "table5_modality_ablation_dmer", "w/o Video"),
    ("WESAD", "subject-dependent", "MPCL w/o ACC", "table6_modality_ablation_wesad", "w/o ACC"),
    ("WESAD", "loso", "MPCL w/ CrossAttn", "table7_alternative_designs", "w/ CrossAttn"),
])
def test_label_mapping(dataset, protocol, label, table, row):
    ref = paper.load_reference()
    name, values = paper.published(label, paper.published_tables(dataset, protocol))
    assert name == table
    expected = {
        "table1_subject_dependent": lambda: ref[table][dataset][row],
        "table2_loso": lambda: ref[table][dataset][row],
        "table7_alternative_designs": lambda: ref[table][dataset][protocol][row],
    }.get(table, lambda: ref[table][protocol][row])()
    assert values == expected


def test_unpublished_labels_have_no_match():
    tables = paper.published_tables("DMER", "subject-dependent")
    for label in ("Prior", "MPCL w/o PRD w/o EEG", "HeLo w/o EEG", "w/o PRD"):
        assert paper.published(label, tables) is None


def constructed(dataset: str, means: dict[str, dict[str, float]]) -> pd.DataFrame:
    """records_frame-like rows whose table means are exactly ``means`` (2 identical blocks)."""
    rows = [{"dataset": dataset, "protocol": "loso", "preset": "quick", "label": label, "family": "MMER",
             "status": "ok", "error": "", "block": str(b), "fold": b, "seed": 0, **vals}
            for label, vals in means.items() for b in range(2)]
    return pd.DataFrame(rows)


def test_difference_sign_and_rendering():
    published = paper.load_reference()["table2_loso"]["DMER"]["MPCL"]
    ours = {m: v + 0.01 for m, v in published.items()}
    res = constructed("dmer", {"MPCL": ours, "Prior": ours})
    [(title, comp)] = paper.compare_results(res)
    mpcl = comp[comp["label"] == "MPCL"].set_index("metric")
    np.testing.assert_allclose(mpcl["diff"].to_numpy(), 0.01, atol=1e-9)
    assert mpcl.at["kl", "better"] is False and mpcl.at["cosine", "better"] is True
    assert set(mpcl["source"]) == {"table2_loso"} and "quick preset" in title
    prior = comp[comp["label"] == "Prior"]
    assert prior["paper"].isna().all() and (prior["source"] == "").all()

    md = paper.comparison_markdown(comp, title)
    assert "+0.0100" in md and "Not in the paper: Prior" in md and "table2_loso" in md
    assert md.count("| MPCL") == 1 and md.count("| paper") == 2
    tex = paper.comparison_latex(comp, title)
    assert r"\toprule" in tex and r"$\Delta$" in tex and "table2\\_loso" in tex


def test_compare_results_refuses_synthetic():
    res = constructed("synthetic", {"MPCL": {m: 0.5 for m in METRICS}})
    with pytest.raises(ValueError, match="synthetic"):
        paper.compare_results(res)
    table = build_table(res, "t")
    with pytest.raises(ValueError, match="generated data"):
        paper.compare_table(table, "synthetic", "loso")
