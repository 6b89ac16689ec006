"""A table claims no more than its rows support (issue: tables that say what the data supports):
one block prints no spread or winner, a one-subject table uses its folds as blocks, a method
with failed blocks is shown apart, the within-subject spread is reported, the consensus
reference leads the gap rows, and a correlation nobody can estimate is not printed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.metrics import HIGHER_IS_BETTER, METRICS
from reports import figures
from reports.stats import annotate_table, table_tests
from reports.tables import build_table, to_markdown


def frame(offsets: dict[str, float], n_blocks: int = 6, folds: int = 1, seed: int = 0,
          **extra) -> pd.DataFrame:
    """ok jobs per (label, block, fold): a per-(block, fold) base plus the label's offset."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.5, (n_blocks, folds))
    rows = []
    for label, off in offsets.items():
        method = {"Prior": "prior", "Consensus (stimulus) ‡": "consensus"}.get(label, label.lower())
        for b in range(n_blocks):
            for f in range(folds):
                v = base[b, f] + off
                rows.append({"label": label, "method": method, "variant": "", "drop": "",
                             "family": "reference" if method in ("prior", "consensus") else "LDL",
                             "oracle": method == "consensus", "status": "ok", "error": "",
                             "block": str(b), "fold": b * folds + f, "seed": 0, "split_seed": 0,
                             "block_kind": "subject", "n_train": 80, "n_test": 20, "n_val": 10,
                             **{m: (1 - v if HIGHER_IS_BETTER[m] else v) for m in METRICS}, **extra})
    return pd.DataFrame(rows)


def _kl_row(md: str) -> list[str]:
    row = next(line for line in md.splitlines() if line.startswith("| KL"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_one_block_prints_no_spread_rank_bold_or_dagger():
    res = frame({"Prior": 0.1, "A": 0.0, "B": 0.05}, n_blocks=1)
    table = annotate_table(build_table(res, "t"), table_tests(res))
    md = to_markdown(table)
    cells = "\n".join(line for line in md.splitlines() if line.startswith("|"))
    assert "**" not in cells and "†" not in cells and "±" not in cells and "(1)" not in cells
    assert any(n.startswith("One block: no spread, rank, bold or † is shown") for n in table.notes)
    assert "Spread: not shown, one block" in md


def test_one_subject_with_folds_uses_its_folds_as_blocks():
    res = frame({"Prior": 0.1, "A": 0.0, "B": 0.05}, n_blocks=1, folds=5)
    table = build_table(res, "t")
    assert table.n_blocks == 5 and table.design.kind == "fold" and table.ranked
    assert any("its 5 folds are the blocks" in n for n in table.notes)
    tests = table_tests(table.rows)
    assert tests["kl"].n_blocks == 5 and tests["kl"].design.kind == "fold"


def test_a_method_that_fails_on_half_the_blocks_is_not_ranked_first():
    """The issue's example: a column equal to the prior that fails on 2 of 4 subjects has the
    better mean over its 2 blocks; it is shown apart, unranked, never bold."""
    res = frame({"Prior": 0.1, "A": 0.05, "Lucky": -0.2}, n_blocks=4)
    res.loc[(res["label"] == "Lucky") & res["block"].isin(["0", "1"]),
            ["status", *METRICS]] = ["failed", *([np.nan] * len(METRICS))]
    table = annotate_table(build_table(res, "t"), table_tests(res))
    assert "Lucky" not in table.ranks.columns and table.ranks.at["kl", "A"] == 1
    cells = _kl_row(to_markdown(table))
    lucky = cells[1 + table.columns.index("Lucky")]
    assert "(2 of 4 blocks)" in lucky and "**" not in lucky
    assert any("Lucky finished 2 of 4 blocks" in n for n in table.notes)
    assert all("Lucky" not in t.methods for t in table_tests(res).values())


def test_the_within_subject_spread_is_reported_beside_the_between_subject_spread():
    res = frame({"Prior": 0.1, "A": 0.0}, n_blocks=4, folds=5)
    table = build_table(res, "t")
    row = table.summary[(table.summary["label"] == "A") & (table.summary["metric"] == "kl")].iloc[0]
    per_block = res[res["label"] == "A"].groupby("block")["kl"].var(ddof=1)
    assert row["within_std"] == pytest.approx(np.sqrt(per_block.mean()))
    md = to_markdown(table)
    assert "within sd" in md and "Within sd: the std of a score over one subject's folds" in md
    one_fold = build_table(frame({"Prior": 0.1, "A": 0.0}, n_blocks=4), "t")
    assert one_fold.summary["within_std"].isna().all() and "within sd" not in to_markdown(one_fold)


def test_the_gap_is_measured_against_the_consensus_with_its_interval():
    res = frame({"Prior": 0.1, "Consensus (stimulus) ‡": -0.1, "A": 0.0}, n_blocks=8)
    table = build_table(res, "t", oracle="trial", reference="consensus")
    row = table.extra_rows["Gap closed (KL) ↑"]
    assert row["Prior"] == "0.00" and row["Consensus (stimulus) ‡"] == "1.00"
    assert row["A"].startswith("0.50 [")
    assert any("Consensus (stimulus): per test trial, the mean label the other subjects gave" in n
               for n in table.notes)


def test_no_correlation_row_where_each_test_set_holds_one_label():
    truth = np.tile([[0.5, 0.3, 0.2]], (10, 1))
    job = figures.JobPrediction("Prior", "0", 0, np.arange(10), truth, truth * 0 + 1 / 3)
    assert figures.correlation_row([job]) == {}
    varied = np.random.default_rng(0).dirichlet(np.ones(3), 10)
    job = figures.JobPrediction("Prior", "0", 0, np.arange(10), varied, varied * 0 + 1 / 3)
    assert figures.CORRELATION_ROW in figures.correlation_row([job])


def test_the_effective_sample_counts_each_label_once_over_repeats():
    res = frame({"Prior": 0.1, "A": 0.0}, n_blocks=3, folds=2, n_test_trials=4)
    notes = build_table(res, "t", repeats=2).notes
    assert any("Effective sample: 12 distinct test labels" in n for n in notes)


def test_the_validation_part_is_stated():
    notes = build_table(frame({"Prior": 0.1, "A": 0.0}), "t").notes
    assert any(n.startswith("Validation: each fold held out") and "median 11%" in n for n in notes)


# ----------------------------------------------------------------------------- every trial tested
def _tested_trials(out) -> int:
    res = pd.read_csv(out / "results.csv")
    prior = res[res["method"] == "prior"]
    return int(prior["n_test_trials"].sum()), prior["block"].nunique()


SMALL = ["--preset", "smoke", "--methods", "prior", "--n-jobs", "1",
         "--dataset-option", "n_subjects=2", "--dataset-option", "n_windows=2"]


def test_folds_all_from_the_command_line_a_config_file_and_the_api(tmp_path):
    """``--folds all`` (the default) tests every trial once, from each of the three surfaces;
    ``--folds 1`` is the quick look."""
    import json

    import benchmark
    from benchmark.cli import main

    assert main(["run", *SMALL, "--folds", "all", "--out", str(tmp_path / "cli")]) == 0
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"methods": "prior", "preset": "smoke", "folds": "all",
                                  "dataset_options": {"n_subjects": 2, "n_windows": 2}}))
    assert main(["run", "--config", str(config), "--n-jobs", "1", "--out", str(tmp_path / "cfg")]) == 0
    benchmark.run(methods=["prior"], preset="smoke", folds="all", n_jobs=1, out=tmp_path / "api",
                  dataset_options={"n_subjects": 2, "n_windows": 2})
    assert main(["run", *SMALL, "--out", str(tmp_path / "default")]) == 0
    assert main(["run", *SMALL, "--folds", "1", "--out", str(tmp_path / "one")]) == 0
    every = {_tested_trials(tmp_path / name) for name in ("cli", "cfg", "api", "default")}
    assert len(every) == 1
    trials, subjects = every.pop()
    one, _ = _tested_trials(tmp_path / "one")
    assert subjects == 2 and 4 * one < trials <= 5 * one  # 5 folds, each about a fifth of the trials


def test_a_table_without_a_reference_says_why_it_has_no_gap_rows():
    res = frame({"Prior": 0.1, "A": 0.0}, n_blocks=4)
    one_subject = build_table(res, "t", oracle="trial", reference="consensus")
    assert not any(k.startswith("Gap closed") for k in one_subject.extra_rows)
    assert any(n.startswith("No gap rows: no stimulus reference") and "consensus" in n
               for n in one_subject.notes)
    kfold = build_table(res, "t")
    assert any("the protocol names none" in n for n in kfold.notes)
