"""benchmark.growth: the fits recover known growth, ``measure`` and ``render`` run end to end on
a small simulated release, and the committed page is what ``render`` makes of the committed JSON."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import growth

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "growth" / "growth.json"


def fake(sd, loso, perf=None) -> dict:
    """A measurement with the given CPU-seconds laws (only for checking the arithmetic)."""
    runs = [{"protocol": p, "n_subjects": n, "preset": "smoke", "exit": 0, "cpu_s": f(n), "wall_s": f(n),
             "peak_rss_mb": 1.0, "jobs": 1, "failed": 0, "method_job_seconds": {"a": f(n) / 4, "b": 3 * f(n) / 4}}
            for p, f in (("subject-dependent", sd), ("loso", loso)) for n in (2, 4, 8, 16)]
    extraction = [{"subject": s, "step": step, "cpu_s": 10.0 * (i + 1), "wall_s": 1.0, "peak_rss_mb": 100.0 + i}
                  for s in ("1", "2") for i, step in enumerate(growth.STEPS)]
    return {"measured": "2026-12-02", "machine": {"cpu": "x", "cores": 2, "load_before": 0.5}, "git_commit": "abc",
            "release": {"clip_seconds": 27, "video_size": [640, 480], "rest_seconds": 180, "gap_seconds": 30},
            "extraction": extraction, "runs": runs, "preset": "smoke", "perf": perf, "methods": "all", "n_jobs": 1,
            "command": "python -m benchmark.growth measure",
            "assumptions": {"gpu_speedup": 10.0, "dmer_subjects": 73, "windows_per_subject": 736}}


def test_fits_recover_known_growth():
    perf = {"source": "x", "steps": {"m": {"step_cpu_s": 0.01, "batch": 128, "epochs": 400}}}
    loso = lambda n: 5 + 3 * float(growth.loso_units(n))  # noqa: E731
    assert growth.loso_units(73) == 73 * (72 - 7) and growth.loso_units(2) == 2  # 10 % of 72 validate; none of 1
    p = growth.project(fake(lambda n: 10 + 50 * n, loso, perf))
    assert p["subject-dependent"]["cpu_s_73"] == pytest.approx(10 + 50 * 73)
    assert p["loso"]["cpu_s_73"] == pytest.approx(5 + 3 * 73 * 65)
    assert p["loso"]["methods"]["b"]["cpu_s_73"] == pytest.approx(0.75 * (5 + 3 * 73 * 65))
    assert p["loso"]["wall_73_here"] == pytest.approx((5 + 3 * 73 * 65) / 2)
    assert p["extraction_per_subject_cpu_s"] == pytest.approx(10 + 20 + 30 + 40 + 50)
    assert p["extraction"]["video"]["peak_rss_mb"] == 104.0
    loso_steps = 400 * math.ceil(72 * 736 * 0.9 / 128)
    assert p["paper"]["m"]["loso"] == pytest.approx({"steps_per_job": loso_steps, "jobs": 73,
                                                     "cpu_s": loso_steps * 73 * 0.01})
    page = growth.render(fake(lambda n: 10 + 50 * n, loso, perf), ROOT / "x.json")
    assert "119 min on this 2-core machine" in page  # LOSO: (5 + 3·73·65) s / 2 cores


@pytest.mark.slow  # about 90 s on an idle 2-core machine (eight processes importing torch/mne), more when shared
def test_measure_and_render_on_a_small_release(tmp_path):
    """The documented commands with small options: a tiny release, two cheap methods, 2 subjects."""
    from datasets.dmer_release import write_release

    write_release(tmp_path / "release", 1, 8.0, video_size=(32, 24), rest_seconds=5, gap_seconds=2,
                  levels=("raw",))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1"}
    out = tmp_path / "growth.json"
    subprocess.run([sys.executable, "-m", "benchmark.growth", "measure", "--release", str(tmp_path / "release"),
                    "--sizes", "2", "--loso-sizes", "2", "--methods", "prior,aa-knn", "--out", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    m = json.loads(out.read_text())
    assert [r["step"] for r in m["extraction"]] == list(growth.STEPS)
    assert all(r["cpu_s"] > 0 and r["peak_rss_mb"] > 50 for r in m["extraction"])
    assert [(r["protocol"], r["n_subjects"], r["exit"], r["failed"]) for r in m["runs"]] == [
        ("subject-dependent", 2, 0, 0), ("loso", 2, 0, 0)]
    assert set(m["runs"][0]["method_job_seconds"]) >= {"prior", "aa-knn"}
    assert m["command"] == ("python -m benchmark.growth measure --sizes 2 --loso-sizes 2 "
                            "--preset smoke --n-jobs 1 --methods prior,aa-knn --release RELEASE")
    # --add: one more size at the measurement's own settings, its extraction kept
    added = subprocess.run([sys.executable, "-m", "benchmark.growth", "measure", "--add", "--sizes", "3",
                            "--loso-sizes", "", "--preset", "smoke", "--methods", "prior,aa-knn", "--out", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    m2 = json.loads(out.read_text())
    assert m2["extraction"] == m["extraction"] and m2["runs"][:2] == m["runs"]
    assert (m2["runs"][2]["protocol"], m2["runs"][2]["n_subjects"], m2["runs"][2]["failed"]) == ("subject-dependent", 3, 0)
    assert "git_commit" in m2["runs"][2] and m2["command"].endswith(
        "; python -m benchmark.growth measure --add --sizes 3 --preset smoke --n-jobs 1 --methods prior,aa-knn")
    other = subprocess.run([sys.executable, "-m", "benchmark.growth", "measure", "--add", "--sizes", "3",
                            "--preset", "quick", "--methods", "prior,aa-knn", "--out", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    assert other.returncode == 2 and other.stderr.startswith("error: --preset quick: --add measures at")
    assert json.loads(out.read_text()) == m2  # nothing lost
    doc, png = tmp_path / "growth.md", tmp_path / "growth.png"
    p = subprocess.run([sys.executable, "-m", "benchmark.growth", "render", "--json", str(out), "--doc", str(doc),
                        "--png", str(png)], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = doc.read_text()
    assert "### Projection to 73 subjects" in text and "| video |" in text and str(tmp_path) not in text
    missing = subprocess.run([sys.executable, "-m", "benchmark.growth", "render", "--json", str(tmp_path / "no.json"),
                              "--doc", str(doc)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.startswith("error: --json")


@pytest.mark.skipif(not COMMITTED.is_file(), reason="no committed growth measurement")
def test_committed_page_is_rendered_from_the_committed_json(tmp_path):
    m = json.loads(COMMITTED.read_text())
    assert (ROOT / "docs" / "growth.md").read_text() == growth.render(m, COMMITTED)
    assert (ROOT / "docs" / "growth.png").is_file()
