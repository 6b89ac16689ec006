"""Ranks, including a re-ranking of the paper's Tables I and II."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from core.metrics import HIGHER_IS_BETTER
from reports.ranking import (block_design, competition_rank, effective_sizes, effective_weighting,
                             rank_table, seed_design, summarise)

REF = Path(__file__).resolve().parents[1] / "reports" / "reference" / "mpcl_paper_tables.json"


def test_competition_ranking_1224():
    s = pd.Series({"a": 0.1, "b": 0.2, "c": 0.2, "d": 0.3})
    assert competition_rank(s, higher_is_better=False).tolist() == [1, 2, 2, 4]
    assert competition_rank(s, higher_is_better=True).tolist() == [4, 2, 2, 1]


def _paper(table, dataset):
    return pd.DataFrame(json.loads(REF.read_text())[table][dataset])


def test_table1_dmer_chebyshev_by_hand():
    ranks = rank_table(_paper("table1_subject_dependent", "DMER"))
    # sorted by hand: MPCL .0346, HeLo .0446, MAET .0522, CARAT .0752, EmotionDict .0753,
    # TLR-DL .0847, PT-SVM .0851, SA-CPNN .0917, LDL-LRR .0936, AA-KNN .0949, CAD .1017
    expected = {"MPCL": 1, "HeLo": 2, "MAET": 3, "CARAT": 4, "EmotionDict": 5, "TLR-DL": 6,
                "PT-SVM": 7, "SA-CPNN": 8, "LDL-LRR": 9, "AA-KNN": 10, "CAD": 11}
    assert ranks.loc["chebyshev"].astype(int).to_dict() == expected
    assert ranks.at["avg_rank", "MPCL"] == 1.0 and ranks.at["avg_rank_rank", "MPCL"] == 1


@pytest.mark.parametrize("table", ["table1_subject_dependent", "table2_loso"])
@pytest.mark.parametrize("dataset", ["DMER", "WESAD"])
def test_paper_tables_rerank_matches_independent_computation(table, dataset):
    means = _paper(table, dataset)
    ranks = rank_table(means)
    by_hand = {}
    for metric, row in means.iterrows():
        signed = -row.to_numpy() if HIGHER_IS_BETTER[metric] else row.to_numpy()
        by_hand[metric] = rankdata(signed, method="min")
    avg = np.mean(list(by_hand.values()), axis=0)
    np.testing.assert_allclose(ranks.loc["avg_rank"].to_numpy(dtype=float), avg)
    np.testing.assert_array_equal(ranks.loc["avg_rank_rank"].to_numpy(dtype=float), rankdata(avg, method="min"))


def test_summarise_averages_blocks_then_over_blocks():
    res = pd.DataFrame({
        "label": ["m"] * 4, "block": ["s1", "s1", "s2", "s2"], "seed": [0, 1, 0, 1], "status": "ok",
        **{m: [1.0, 3.0, 5.0, 7.0] for m in HIGHER_IS_BETTER}})
    s = summarise(res, ["label"]).set_index("metric")
    assert s.at["kl", "mean"] == 4.0            # blocks 2 and 6
    assert s.at["kl", "std"] == pytest.approx(np.std([2, 6], ddof=1))
    assert s.at["kl", "seed_std"] == pytest.approx(np.std([3, 5], ddof=1))  # seed means 3 and 5
    assert s.at["kl", "n_blocks"] == 2


def _jobs(n_blocks=10, seeds=(0,), split_seeds=None, block_kind=None, value=None, **extra):
    """One ok job per (block, seed) of label "m", every metric = ``value(block, seed, split)``;
    ``split_seeds`` (one per seed) fills the ``split_seed`` column."""
    rows = []
    for b in range(n_blocks):
        for i, seed in enumerate(seeds):
            split = split_seeds[i] if split_seeds is not None else None
            v = value(b, seed, split) if value else float(b)
            rows.append({"label": "m", "block": f"f{b}", "seed": seed, "status": "ok",
                         **({"split_seed": split} if split_seeds is not None else {}),
                         **({"block_kind": block_kind} if block_kind else {}),
                         **{m: v for m in HIGHER_IS_BETTER}, **extra})
    return pd.DataFrame(rows)


def test_fold_blocks_widen_the_interval_by_the_nadeau_bengio_factor():
    subjects = summarise(_jobs(n_train=90, n_test=10), ["label"]).set_index("metric")
    folds = summarise(_jobs(block_kind="fold", n_train=90, n_test=10), ["label"]).set_index("metric")
    # variance × (1/J + n_test/n_train) instead of variance / J: wider by sqrt(1 + J · 10/90)
    assert folds.at["kl", "ci95"] == pytest.approx(subjects.at["kl", "ci95"] * np.sqrt(1 + 10 / 9))
    assert folds.at["kl", "std"] == subjects.at["kl", "std"] and folds.at["kl", "n_blocks"] == 10
    # the naive half-width by hand: t(.975, 9) · sd / sqrt(10)
    sd = np.std(np.arange(10.0), ddof=1)
    assert subjects.at["kl", "ci95"] == pytest.approx(2.2621571628 * sd / np.sqrt(10))


def test_fold_blocks_of_different_split_seeds_are_different_blocks():
    res = _jobs(n_blocks=5, seeds=(0, 1), split_seeds=(0, 1), block_kind="fold", n_train=4, n_test=1)
    assert summarise(res, ["label"]).set_index("metric").at["kl", "n_blocks"] == 10
    subj = res.drop(columns="block_kind")  # subjects: the same subject under both seeds
    assert summarise(subj, ["label"]).set_index("metric").at["kl", "n_blocks"] == 5


def test_mixed_block_kinds_are_refused():
    res = _jobs(block_kind="fold", n_train=9, n_test=1)
    res.loc[0, "block_kind"] = "subject"
    with pytest.raises(ValueError, match="one block kind"):
        block_design(res)
    assert block_design(res.assign(block_kind=None)).kind == "unknown"  # old records: as subjects
    assert block_design(res.drop(columns="block_kind")).variance_factor(4) == 0.25


def test_trial_weighting_uses_the_trial_columns_and_falls_back_to_windows():
    res = _jobs(n_blocks=3, **{f"{m}_trial": 100.0 for m in HIGHER_IS_BETTER})
    assert effective_weighting(res) == "trial"
    assert summarise(res, ["label"]).set_index("metric").at["kl", "mean"] == 100.0
    assert summarise(res, ["label"], "window").set_index("metric").at["kl", "mean"] == 1.0
    res.loc[1, "kl_trial"] = np.nan  # one job without its trial mean: no mixing of the two
    assert effective_weighting(res) == "window"
    assert summarise(res, ["label"]).set_index("metric").at["kl", "mean"] == 1.0
    with pytest.raises(ValueError, match="weighting"):
        effective_weighting(res, "sample")


def test_split_and_model_seed_spreads_are_separated():
    # 2 split seeds × 2 model seeds on every block; value = split effect + model effect.
    split_effect, model_effect = {10: 0.0, 11: 4.0}, {0: 0.0, 1: 1.0, 2: 0.0, 3: 3.0}
    rows = [r for split, seeds in ((10, (0, 1)), (11, (2, 3))) for r in _jobs(
        n_blocks=3, seeds=seeds, split_seeds=(split, split),
        value=lambda b, seed, s: b + split_effect[s] + model_effect[seed]).to_dict("records")]
    res = pd.DataFrame(rows)
    assert seed_design(res) == "separate"
    s = summarise(res, ["label"]).set_index("metric")
    # split means 0.5 + 1 and 5.5 + 1 (blocks 0..2 average 1); model variance 0.5 and 4.5
    assert s.at["kl", "split_seed_std"] == pytest.approx(np.std([1.5, 6.5], ddof=1))
    assert s.at["kl", "model_seed_std"] == pytest.approx(np.sqrt((0.5 + 4.5) / 2))
    assert s.at["kl", "n_split_seeds"] == 2 and s.at["kl", "n_seeds"] == 4


def test_seeds_that_redraw_split_and_model_together_are_reported_jointly():
    res = _jobs(n_blocks=3, seeds=(0, 1, 2), split_seeds=(0, 1, 2), value=lambda b, seed, s: b + seed)
    assert seed_design(res) == "joint"
    s = summarise(res, ["label"]).set_index("metric")
    assert s.at["kl", "seed_std"] == pytest.approx(1.0)
    assert np.isnan(s.at["kl", "split_seed_std"]) and np.isnan(s.at["kl", "model_seed_std"])
    failed = pd.DataFrame([{"label": "m", "block": "f0", "seed": 0, "status": "failed"}])
    assert seed_design(pd.concat([res, failed])) == "joint"  # no split seed recorded: ignored
    assert seed_design(res.drop(columns="split_seed")) == "unknown"
    fixed = _jobs(n_blocks=3, seeds=(0, 1, 2), split_seeds=(7, 7, 7), value=lambda b, seed, s: b + seed)
    f = summarise(fixed, ["label"]).set_index("metric")
    assert seed_design(fixed) == "separate" and f.at["kl", "model_seed_std"] == pytest.approx(1.0)
    assert np.isnan(f.at["kl", "split_seed_std"])


def test_effective_sizes_count_each_test_trial_once():
    # 3 subjects, 2 folds per subject (disjoint test trials: 2 + 3), two seeds re-testing them.
    rows = [{"label": "m", "block": f"s{b}", "seed": seed, "fold": f, "status": "ok",
             "n_test_trials": (2, 3)[f], "n_test": (20, 35)[f]}
            for b in range(3) for seed in (0, 1) for f in (0, 1)]
    assert effective_sizes(pd.DataFrame(rows)) == {"labels": 15, "windows": 165}
    assert effective_sizes(pd.DataFrame(rows).drop(columns="n_test_trials")) == {"windows": 165}
