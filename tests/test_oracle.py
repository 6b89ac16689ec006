"""The stimulus oracle: what it predicts, that tables show it without ranking it, that the
significance tests never see it, the gap-closed rows, and the runner's reference columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.results import table_title
from benchmark.runner import run
from benchmark.spec import RunSpec
from methods.oracle import reference_specs
from methods.registry import MethodSpec, method_classes, parse_methods
from core.metrics import HIGHER_IS_BETTER, METRICS
from reports.stats import block_matrix, table_tests
from reports.tables import build_table, to_latex, to_markdown

ORACLE = method_classes()["oracle"].display


def test_predicts_the_training_mean_of_the_same_stimulus_and_falls_back_to_the_mean(small_data):
    stim = small_data.meta["stimulus"].to_numpy()
    train_idx = np.flatnonzero(stim != stim[0])  # the first clip is never seen in training
    train = small_data.subset(train_idx)
    test = small_data.subset(np.arange(len(small_data)))
    pred = MethodSpec("oracle").build("smoke").fit(train).predict(test)
    for s in (1, 5):
        mean = train.labels[train.meta["stimulus"].to_numpy() == s].mean(axis=0)
        assert np.allclose(pred[stim == s], mean)
    assert np.allclose(pred[stim == stim[0]], train.labels.mean(axis=0))


def test_refuses_data_without_a_stimulus(small_data):
    from datasets.base import DataError, FeatureSet

    d = small_data
    bare = FeatureSet(d.modalities, d.roles, d.labels, d.emotions, d.valence,
                      d.meta.drop(columns="stimulus"), name="bare")
    with pytest.raises(DataError, match="stimulus"):
        MethodSpec("oracle").build("smoke").fit(bare)


def _results(levels: dict[tuple[str, str], float], n_blocks: int = 10) -> pd.DataFrame:
    """One ok job per (method, block): every metric is a per-block base plus the method's
    offset (lower offset = better, whatever the metric's direction)."""
    base = np.random.default_rng(0).uniform(0.2, 0.4, n_blocks)
    rows = []
    for (method, label), off in levels.items():
        for b in range(n_blocks):
            v = base[b] + off + 0.001 * ((b * 7) % 3)  # not exact ties across blocks
            rows.append({"method": method, "variant": "", "drop": "", "label": label,
                         "family": "reference" if method in ("prior", "oracle") else "LDL",
                         "oracle": method == "oracle",
                         "status": "ok", "error": "", "block": str(b), "fold": b, "seed": 0,
                         **{m: (1 - v if HIGHER_IS_BETTER[m] else v) for m in METRICS}})
    return pd.DataFrame(rows)


# The oracle is far better than every method on every block: if it were ranked or tested it
# would be rank 1, the bold cell and the best of every Wilcoxon comparison.
LEVELS = {("prior", "Prior"): 0.10, ("oracle", ORACLE): -0.15, ("aa-knn", "AA-KNN"): 0.05,
          ("pt-svm", "PT-SVM"): 0.12}


def test_the_oracle_is_shown_but_never_ranked():
    table = build_table(_results(LEVELS), "t")
    assert ORACLE in table.means.columns and ORACLE not in table.ranks.columns
    assert table.ranks.at["kl", "AA-KNN"] == 1 and table.ranks.at["avg_rank_rank", "AA-KNN"] == 1
    md = to_markdown(table)
    row = next(line for line in md.splitlines() if line.startswith("| KL"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == f"{table.means.at['kl', ORACLE]:.4f}"  # value, no rank, not bold
    assert cells[3].startswith("**") and "(1)" in cells[3]  # AA-KNN is the best method
    avg = next(line for line in md.splitlines() if line.startswith("| Average Rank"))
    assert [c.strip() for c in avg.strip("|").split("|")][2] == "—"
    assert "‡" in md and "never ranked" in md
    assert r"$^\ddagger$" in to_latex(table)


def test_the_oracle_never_enters_the_significance_tests():
    res = _results(LEVELS)
    for metric in METRICS:
        assert ORACLE not in block_matrix(res, metric).columns
    tests = table_tests(res)
    for t in tests.values():
        assert ORACLE not in t.methods and t.best == "AA-KNN" and ORACLE not in t.pvalues
    # The tests are those of the table without the oracle, to the last p-value.
    without = table_tests(res[res["method"] != "oracle"])
    assert {m: t.pvalues for m, t in tests.items()} == {m: t.pvalues for m, t in without.items()}


def _gap(cell: str) -> tuple[float, float, float]:
    """"0.42 [0.31, 0.55]" -> (0.42, 0.31, 0.55)."""
    value, interval = cell.split(" [")
    low, high = interval.rstrip("]").split(", ")
    return float(value), float(low), float(high)


def test_gap_closed_rows_carry_a_bootstrap_interval():
    table = build_table(_results(LEVELS), "t")
    for metric, name in (("kl", "Gap closed (KL) ↑"), ("chebyshev", "Gap closed (Chebyshev) ↑")):
        m = table.means.loc[metric]
        row = table.extra_rows[name]
        assert row["Prior"] == "0.00" and row[ORACLE] == "1.00"
        expected = (m["Prior"] - m["AA-KNN"]) / (m["Prior"] - m[ORACLE])
        value, low, high = _gap(row["AA-KNN"])
        assert value == pytest.approx(expected, abs=0.005) and expected > 0
        assert low <= value <= high and high - low < 0.05  # near-constant offsets: a tight interval
        assert _gap(row["PT-SVM"])[0] < 0  # worse than the prior
    assert any("bootstrap" in n and "2000 resamples" in n for n in table.notes)


def test_gap_interval_is_the_percentile_bootstrap_of_the_ratio_of_means():
    table = build_table(_results(LEVELS), "t")
    blocks = _results(LEVELS).pivot(index="block", columns="label", values="kl")
    idx = np.random.default_rng(0).integers(0, 10, size=(2000, 10))
    p, o, a = (blocks[c].to_numpy()[idx].mean(axis=1) for c in ("Prior", ORACLE, "AA-KNN"))
    low, high = np.percentile((p - a) / (p - o), [2.5, 97.5])
    assert _gap(table.extra_rows["Gap closed (KL) ↑"]["AA-KNN"])[1:] == (round(low, 2), round(high, 2))


def test_no_gap_row_when_the_oracle_is_not_significantly_better_than_the_prior():
    # the oracle beats the prior by .002 on average, but by ±.02 block to block
    res = _results({**LEVELS, ("oracle", ORACLE): 0.10})
    noise = 0.02 * np.resize([1.0, -1.0], 10) - 0.002
    is_oracle = res["method"] == "oracle"
    for m in METRICS:
        res.loc[is_oracle, m] += (-noise if HIGHER_IS_BETTER[m] else noise)
    table = build_table(res, "t")
    assert not any(k.startswith("Gap closed") for k in table.extra_rows)
    assert any(n.startswith(f"Gap closed (KL) ↑: not shown, the {ORACLE} is not significantly better")
               and "includes 0" in n for n in table.notes)


def test_the_oracle_is_a_reference_and_its_meaning_follows_the_protocol():
    loso = build_table(_results(LEVELS).assign(protocol="loso"), "t")
    note = next(n for n in loso.notes if n.startswith("‡"))
    assert "reference, not an upper bound" in note and "ceiling" not in note
    assert "falls back to the prior" not in note
    held_out = next(n for n in build_table(_results(LEVELS), "t", oracle="trial").notes
                    if n.startswith("‡"))
    assert "falls back to the prior" in held_out and "LOSO" not in held_out
    unknown = next(n for n in build_table(_results(LEVELS), "t").notes if n.startswith("‡"))
    assert all(k in unknown for k in ("Window split: the oracle is exact", "trials held out", "LOSO:"))


def test_reference_specs_add_prior_and_oracle_and_leave_the_oracle_out_without_stimulus(small_data):
    listed = parse_methods("aa-knn,oracle")
    refs, rest = reference_specs(listed, small_data.meta, add=True)
    assert [r.name for r in refs] == ["prior", "oracle"] and [m.name for m in rest] == ["aa-knn"]
    refs, rest = reference_specs(listed, small_data.meta.drop(columns="stimulus"), add=True)
    assert [r.name for r in refs] == ["prior"] and [m.name for m in rest] == ["aa-knn"]
    refs, rest = reference_specs(parse_methods("aa-knn"), small_data.meta, add=False)
    assert refs == [] and [m.name for m in rest] == ["aa-knn"]


def test_runner_adds_the_references_once_even_in_a_modality_drop_study(tmp_path):
    cfg = RunSpec(methods=parse_methods("aa-knn"), preset="smoke", out=tmp_path / "run",
                    dataset_options={"n_subjects": 3, "n_windows": 2}, drops=(("video",), ()),
                    references=True)
    out = run(cfg)
    # held-out trials: the oracle is the prior by construction, the consensus is the reference
    assert list(dict.fromkeys(out.results["label"])) == ["Prior", "Consensus (stimulus) ‡",
                                                         "AA-KNN w/o Video", "AA-KNN"]
    assert (out.results["status"] == "ok").all()


def test_title_states_items_grouping_normalisation_preset_and_tuning():
    def rec(method_extra=None, dataset="wesad-e4", doptions=None, poptions=None, label="Prior",
            family="reference"):
        return {"label": label, "family": family,
                "config": {"dataset": {"name": dataset, "options": doptions or {}},
                           "protocol": {"name": "subject-dependent", "options": poptions or {}},
                           "method": {"preset": "quick", **(method_extra or {})}}}

    assert table_title([rec(poptions={"group": "window", "n_splits": 5, "folds": 1})], items="dmer9") == (
        "wesad-e4 [items=dmer9] — subject-dependent (window split, 1 of 5 folds per subject, not "
        "every window tested: windows of one trial on both sides, optimistic) — no normalisation "
        "— quick preset — defaults")
    title = table_title([rec(doptions={"items": "panas24"},
                             poptions={"group": "trial", "n_splits": 5, "folds": None,
                                       "normalize": "subject"}),
                         rec({"tune": 8}, label="AA-KNN", family="LDL")])
    assert title == ("wesad-e4 [items=panas24] — subject-dependent (trials held out: every trial "
                     "tested once, 5 folds per subject) — per-subject normalisation — quick preset — "
                     "tuned, budget 8 per method")
    assert table_title([rec(dataset="synthetic")]).startswith("synthetic — subject-dependent")
    # The paper preset tunes only where the method's paper did: the title names those.
    partial = [rec(), rec({"tune": 20}, label="LDL-LRR", family="LDL"), rec(label="MPCL", family="EDL")]
    assert table_title(partial).endswith("tuned, budget 20 per method: LDL-LRR; defaults for the rest")


def test_the_consensus_predicts_the_other_subjects_mean_label_for_the_stimulus(small_data):
    """Fitted on the other subjects (the runner gives it every window not of the test
    subject), it predicts per test trial the mean over their trials of the same stimulus, each
    trial once whatever its number of windows."""
    meta = small_data.meta
    subj = meta["subject"].to_numpy()
    others, test = small_data.subset(np.flatnonzero(subj != 0)), small_data.subset(np.flatnonzero(subj == 0))
    pred = MethodSpec("consensus").build("smoke").fit(others).predict(test)
    trials = pd.DataFrame(others.labels).groupby([others.meta["subject"].to_numpy(),
                                                  others.meta["trial"].to_numpy()]).mean()
    stim = others.meta.groupby(["subject", "trial"])["stimulus"].first()
    expected = trials.groupby(stim.to_numpy()).mean()
    for s in np.unique(test.meta["stimulus"]):
        rows = test.meta["stimulus"].to_numpy() == s
        assert np.allclose(pred[rows], expected.loc[s].to_numpy())


def test_the_consensus_is_fitted_on_the_other_subjects_under_every_protocol(tmp_path):
    for protocol in ("subject-dependent", "loso"):
        cfg = RunSpec(methods=parse_methods("prior"), preset="smoke", out=tmp_path / protocol,
                      protocol=protocol, dataset_options={"n_subjects": 3, "n_windows": 2},
                      references=True)
        res = run(cfg).results
        cons = res[res["method"] == "consensus"]
        assert len(cons) and (cons["status"] == "ok").all()
        # trained on the two other subjects' windows, whatever the fold's training part
        assert (cons["n_train"] == 2 * cons["n_test"].groupby(cons["block"]).transform("sum")).all()


def test_the_oracle_and_the_prior_weigh_every_training_trial_once(small_data):
    """Trials of unequal length: the oracle's per-stimulus means and its fallback are the
    trial-balanced means, so an unseen stimulus gets exactly the prior's prediction."""
    from methods.prior import Prior

    meta = small_data.meta
    first = (meta["trial"] == meta["trial"].iloc[0]).to_numpy()
    keep = np.flatnonzero(~first | (meta["window"] == meta["window"].min()).to_numpy())
    train = small_data.subset(keep)  # the first trial of every subject has one window left
    trials = pd.DataFrame(train.labels).groupby([train.meta["subject"], train.meta["trial"],
                                                 train.meta["stimulus"]]).mean()
    oracle = MethodSpec("oracle").build("smoke").fit(train)
    prior = Prior().fit(train)
    np.testing.assert_allclose(prior.mean_, trials.mean().to_numpy())
    assert not np.allclose(prior.mean_, train.labels.mean(axis=0))  # the weighting matters here
    np.testing.assert_allclose(oracle.mean_, prior.mean_)
    np.testing.assert_allclose(oracle.means_.to_numpy(), trials.groupby(level=2).mean().to_numpy())
