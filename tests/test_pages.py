"""Committed results and their pages: ``pages --add`` stores each table's typed key, a page
shows its gap rows (nothing parses a title), and ``pages --verify`` tells a committed result
that the code still makes from one it no longer makes."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark import pages
from benchmark.cli import main

SMALL = ["--preset", "smoke", "--methods", "prior,aa-knn", "--n-jobs", "1",
         "--dataset-option", "n_subjects=4", "--dataset-option", "n_windows=2"]


@pytest.fixture()
def committed(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "RESULTS", tmp_path / "results")
    run = tmp_path / "run"
    assert main(["run", *SMALL, "--out", str(run)]) == 0
    assert main(["pages", "--add", str(run), "--name", "toy", "--check"]) in (0, 1)
    return run


def test_add_stores_typed_keys_and_the_page_shows_its_gap_rows(committed, tmp_path):
    meta = json.loads((tmp_path / "results" / "toy" / "meta.json").read_text())
    key = meta["tables"][0]["key"]
    assert key["protocol"]["name"] == "subject-dependent" and key["protocol"]["options"]["folds"] is None
    assert "data_root" not in key["dataset"]["options"]
    page = pages.result_page("toy")
    assert "Consensus (stimulus) ‡" in page and "| Gap closed (KL) ↑ |" in page
    assert "nan" not in page.split("## Reproduce")[0].lower().replace("nan]", "")


def test_verify_passes_on_a_rerun_and_names_a_moved_number(committed, tmp_path, capsys):
    again = tmp_path / "again"
    config = tmp_path / "results" / "toy" / "run.json"
    assert main(["run", "--config", str(config), "--n-jobs", "1", "--out", str(again)]) == 0
    capsys.readouterr()
    assert main(["pages", "--verify", str(again), "--name", "toy"]) == 0
    assert "verify: 0 difference(s)" in capsys.readouterr().out
    rows = tmp_path / "results" / "toy" / "results.csv"
    frame = pd.read_csv(rows)
    frame.loc[frame["method"] == "aa-knn", "kl_trial"] *= 1.1  # a committed number the code no longer makes
    frame.to_csv(rows, index=False)
    assert main(["pages", "--verify", str(again), "--name", "toy"]) == 1
    err = capsys.readouterr().err
    assert "AA-KNN | kl: committed" in err
    assert "note:" not in err  # the same kernels: a moved number is the code's
    meta = tmp_path / "results" / "toy" / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "kernel": "blas=other torch=other"}))
    assert main(["pages", "--verify", str(again), "--name", "toy"]) == 1
    assert "note: results/toy was measured under kernels blas=other torch=other" in capsys.readouterr().err
