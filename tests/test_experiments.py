"""Every experiment runner end to end on a tiny smoke configuration: the tables exist and have
the paper's rows and columns."""
from __future__ import annotations

import pytest

from benchmark.experiments import run_experiment
from benchmark.reporting import render_any
from benchmark.spec import RunSpec
from methods.registry import parse_methods
from protocols.experiments import EXPERIMENTS, build
from reports.tables import METRIC_TITLES

TINY = {"n_subjects": 2, "n_windows": 2}
BRIEF = {"epochs": 2, "patience": 0}  # these tests check the tables' shape, not MPCL's quality


def _columns(md: str) -> list[list[str]]:
    heads = [line for line in md.splitlines() if line.startswith("| Metric |")]
    return [[c.strip() for c in h.strip("|").split("|")[1:]] for h in heads]


def _run(name, tmp_path, methods=None):
    cfg = RunSpec(methods=[], preset="smoke", dataset_options=TINY, protocol=name, out=tmp_path / name)
    outcomes = run_experiment(name, cfg, methods, mpcl_params=BRIEF)
    assert all((o.results["status"] == "ok").all() for _, o in outcomes), [
        o.failed[["label", "error"]].head() for _, o in outcomes]
    md = render_any(cfg.resolved_out())
    for title in METRIC_TITLES.values():
        assert f"| {title} " in md
    assert "Average Rank" in md
    return md


@pytest.mark.parametrize("name,expected", [
    ("ablation-modules", ["MPCL w/o MSAF", "MPCL w/o PRD", "MPCL w/o PCL", "MPCL w/o HSC", "MPCL"]),
    ("ablation-modalities", ["MPCL w/o EEG", "MPCL w/o GSR", "MPCL w/o PPG", "MPCL w/o Video", "MPCL"]),
    ("alternatives", ["MPCL w/ CrossAttn", "MPCL w/ Feat-Co", "MPCL w/ InfoNCE", "MPCL w/ TransEnc", "MPCL"]),
])
def test_mpcl_tables_have_the_papers_columns_for_both_protocols(name, expected, tmp_path):
    md = _run(name, tmp_path)
    assert _columns(md) == [expected, expected]
    assert "synthetic — subject-dependent" in md and "synthetic — loso" in md


def test_main_has_every_requested_method_for_both_protocols(tmp_path):
    md = _run("main", tmp_path, parse_methods("prior,aa-knn"))
    assert _columns(md) == [["Prior", "AA-KNN"], ["Prior", "AA-KNN"]]


def test_hyperparams_sweep_writes_curves(tmp_path):
    exp = build("hyperparams", ["eeg", "gsr", "ppg", "video"])
    assert {v[0] for v in exp.parts[0].sweep.values()} == {
        "MSAF scales", "prototypes K", "temperature τ", "compression blocks L"}
    _run("hyperparams", tmp_path)
    figs = sorted(p.name for p in (tmp_path / "hyperparams" / "subject-dependent" / "figures").glob("sweep_*.png"))
    assert figs == ["sweep_K.png", "sweep_L.png", "sweep_scales.png", "sweep_τ.png"]


def test_unknown_experiment_lists_valid():
    with pytest.raises(KeyError, match="ablation-modules"):
        build("nope", ["eeg"])
    assert set(EXPERIMENTS) == {"main", "ablation-modules", "ablation-modalities", "alternatives", "hyperparams"}


def test_main_holds_trials_out_by_default_and_routes_the_grouping_to_its_subject_dependent_part(tmp_path):
    md = _run("main", tmp_path / "default", parse_methods("prior"))
    assert "subject-dependent (trials held out: every trial tested once, 5 folds per subject)" in md
    cfg = RunSpec(methods=[], preset="smoke", dataset_options=TINY, protocol="main",
                  protocol_options={"group": "window", "val_size": 0.2}, out=tmp_path / "window")
    outcomes = dict((p.name, o) for p, o in run_experiment("main", cfg, parse_methods("prior")))
    sd = outcomes["subject-dependent"].records[0]["config"]["protocol"]["options"]
    lo = outcomes["loso"].records[0]["config"]["protocol"]["options"]
    assert sd["group"] == "window" and sd["val_size"] == 0.2
    assert "group" not in lo and lo["val_size"] == 0.2
