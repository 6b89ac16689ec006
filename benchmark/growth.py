"""How the cost of the benchmark grows with DMER's size: measured, fitted, projected to 73 subjects.

Why: nobody had run the suite at DMER's size, so whether ``run --dataset dmer`` takes minutes or
days was unknown. Two commands, so that measuring (slow, machine-dependent) and publishing
(instant, reproducible from the committed JSON) are separate::

    python -m benchmark.growth measure --out results/growth/growth.json [--perf runs/perf.json]
    python -m benchmark.growth measure --add --sizes 16 --loso-sizes 8,16 --preset quick --n-jobs 2
    python -m benchmark.growth render --json results/growth/growth.json

``measure`` does three things and writes one JSON:

1. **Extraction** — writes a simulated raw DMER release (:mod:`datasets.dmer_release`) at DMER's
   real clip length (27 s), rates and face video (640×480, 30 fps), and for each subject measures
   reading + aligning the raw files, then each modality's features (EEG, GSR, PPG, video), each in
   a fresh process: process CPU seconds (one thread) and the process's peak resident memory.
   Extraction is per subject and independent across subjects, so it grows linearly.
2. **Runs** — runs every method (``--methods all``) with ``--n-jobs N`` on DMER-shaped feature
   sets of 2, 4, 8, 16 subjects with DMER's per-subject size (32 trials × 23 windows: 27 s
   trials after the 4-window drop), subject-dependent with every trial tested once
   (``--folds 5`` of 5) and leave-one-subject-out, and measures the run's CPU seconds (the
   child process's user + system time, which other load on a shared machine barely moves) and
   each method's share (its jobs' fit + predict seconds). The feature sets are the
   ``synthetic`` dataset at that size: a run's cost depends on the shapes, not on the values.
3. **Perf** — optionally reads a pytest-benchmark JSON of ``tests/perf/test_perf_deep.py``
   (one training step per deep method at the ``paper`` width, process CPU time) to project the
   ``paper`` preset, whose 400 epochs are too long to run here.

``measure --add`` measures more run sizes into an existing JSON at its own preset, methods and
workers, keeping its extraction (the largest sizes take longest, and need not repeat the rest).

``render`` writes ``docs/growth.md`` and ``docs/growth.png`` from the JSON alone: the fits
(subject-dependent cost linear in subjects; LOSO linear in folds × training subjects per fold,
:func:`loso_units`), their projection to 73 subjects on the measuring machine's cores
and on N workers, and the paper preset's projection (steps × measured step time; on a GPU
divided by the ``--gpu-speedup`` recorded in the JSON, an assumption, not a measurement).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DMER_SUBJECTS = 73
TRIALS, WINDOWS = 32, 23  # windows per trial at L = 27 s after dropping the first 4
STEPS = ("read+align", "eeg", "gsr", "ppg", "video")
RUN_SIZES = (2, 4, 8, 16)
DOC, PLOT = ROOT / "docs" / "growth.md", ROOT / "docs" / "growth.png"
GPU_SPEEDUP = 10.0  # assumed speed-up of one GPU over one CPU core (an assumption, recorded as such)
# The step times behind the paper preset's projection (``measure --perf``), written to ``{json}``.
PERF_COMMAND = ("OMP_NUM_THREADS=1 python -m pytest tests/perf/test_perf_deep.py -k 'paper and training_step' "
                "--benchmark-enable --benchmark-json={json}")


# ------------------------------------------------------------------ measuring
def _step(subject_dir: str, step: str) -> dict:
    """In a fresh process: read + align one raw subject, then (if ``step`` is a modality) its features."""
    import cv2

    from datasets import dmer_raw
    from datasets.features import eeg as feeg
    from datasets.features import physio, video

    cv2.setNumThreads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    raw = dmer_raw.load_subject(Path(subject_dir))
    t1, c1 = time.perf_counter(), time.process_time()
    if step == "eeg":
        clean = feeg.preprocess(raw.eeg_datas[:-1], 300.0)
        for vid in range(TRIALS):
            feeg.differential_entropy(clean[:, raw.eeg_datas[-1] == vid], 300.0)
    elif step in ("gsr", "ppg"):
        x = getattr(raw, f"{step}_datas")
        fn, fs = (physio.gsr_features, 4.0) if step == "gsr" else (physio.ppg_features, 100.0)
        for vid in range(TRIALS):
            fn(x[0, x[-1] == vid], fs)
    elif step == "video":
        for vid in range(TRIALS):
            video.video_features(video.read_gray_frames(str(raw.video), *raw.frames[vid]))
    t2, c2 = time.perf_counter(), time.process_time()
    own = (c1 - c0, t1 - t0) if step == "read+align" else (c2 - c1, t2 - t1)
    return {"cpu_s": own[0], "wall_s": own[1],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def measure_extraction(release: Path) -> list[dict]:
    rows = []
    for d in sorted((release / "raw").iterdir(), key=lambda p: int(p.name)):
        for step in STEPS:
            p = subprocess.run([sys.executable, "-m", "benchmark.growth", "_step", str(d), step],
                               capture_output=True, text=True, env=_env(), cwd=ROOT, check=True)
            rows.append({"subject": d.name, "step": step, **json.loads(p.stdout.splitlines()[-1])})
            print(f"extraction subject {d.name} {step}: {rows[-1]}", file=sys.stderr)
    return rows


def measure_run(n_subjects: int, protocol: str, preset: str, workdir: Path, methods: str = "all",
                n_jobs: int = 1) -> dict:
    """One run of ``methods`` on a DMER-sized feature set of ``n_subjects``; CPU of the child and
    of its workers (``RUSAGE_CHILDREN`` counts the grandchildren it waited for), so the figure is
    the run's work whatever ``n_jobs``: more workers shorten the wall time, not the CPU."""
    import pandas as pd

    out = workdir / f"{protocol}-{n_subjects}-{preset}"
    args = [sys.executable, "-m", "benchmark", "run", "--methods", methods, "--dataset", "synthetic",
            "--dataset-option", f"n_subjects={n_subjects}", "--dataset-option", f"n_windows={WINDOWS}",
            "--protocol", protocol, "--preset", preset, "--n-jobs", str(n_jobs), "--out", str(out)]
    if protocol == "subject-dependent":
        args += ["--folds", "5"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=_env(), cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = pd.read_csv(out / "results.csv")
    res["seconds"] = res["fit_seconds"].fillna(0) + res["predict_seconds"].fillna(0) if "fit_seconds" in res \
        else np.nan
    per = res.groupby("method")["seconds"].sum() if "fit_seconds" in res else pd.Series(dtype=float)
    row = {"protocol": protocol, "n_subjects": n_subjects, "preset": preset, "n_jobs": n_jobs, "exit": p.returncode,
           "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
           "wall_s": wall, "peak_rss_mb": after.ru_maxrss / 1024, "jobs": int(len(res)),
           "failed": int((res["status"] != "ok").sum()),
           "method_job_seconds": {k: float(v) for k, v in per.items()}}
    print(f"run {protocol} n={n_subjects}: cpu {row['cpu_s']:.0f} s, wall {wall:.0f} s", file=sys.stderr)
    return row


def read_perf(path: Path) -> dict:
    """Paper-width training step (median process CPU s) per deep method, with its paper budget."""
    from methods.registry import MethodSpec

    data = json.loads(Path(path).read_text())
    steps = {}
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        if b["name"].startswith("test_training_step") and info.get("preset") == "paper":
            label = info["method"]
            name, _, variant = label.partition("[")
            m = MethodSpec(name, variant.rstrip("]")).build("paper")
            steps[label] = {"step_cpu_s": b["stats"]["median"], "batch": int(getattr(m, "batch_size", 128)),
                            "epochs": int(getattr(m, "epochs", 400))}
    return {"source": str(path), "steps": steps}


def measure(out: Path, release: Path | None, extract_subjects: int, sizes: tuple[int, ...],
            preset: str, perf: Path | None, gpu_speedup: float, loso_sizes: tuple[int, ...],
            methods: str = "all", n_jobs: int = 1, command: str = "") -> dict:
    from datasets.dmer_release import write_release

    from .provenance import provenance

    load = os.getloadavg()[0]  # what else the machine ran when the measurement began (on the page)
    with tempfile.TemporaryDirectory(prefix="growth-") as tmp:
        tmp = Path(tmp)
        rel_opts = {"clip_seconds": 27.0, "video_size": [640, 480], "rest_seconds": 180.0, "gap_seconds": 30.0}
        if release is not None:  # what the release was written with
            truth = json.loads((release / "truth.json").read_text())
            rel_opts = {k: truth.get(k) for k in rel_opts}
        else:
            release = tmp / "release"
            write_release(release, extract_subjects, rel_opts["clip_seconds"], video_size=(640, 480),
                          rest_seconds=rel_opts["rest_seconds"], gap_seconds=rel_opts["gap_seconds"],
                          levels=("raw",))
        extraction = measure_extraction(release)
        runs = [measure_run(n, "subject-dependent", preset, tmp, methods, n_jobs) for n in sizes]
        runs += [measure_run(n, "loso", preset, tmp, methods, n_jobs) for n in loso_sizes]
    prov = provenance()
    result = {"measured": dt.date.today().isoformat(), "machine": {"cpu": prov.get("cpu", platform.processor()),
                                                                  "cores": os.cpu_count(), "load_before": load,
                                                                  "python": platform.python_version()},
              "git_commit": prov.get("git_commit", ""), "release": rel_opts,
              "extraction": extraction, "runs": runs, "preset": preset, "methods": methods, "n_jobs": n_jobs,
              "command": command,
              "perf": read_perf(perf) if perf else None,
              "assumptions": {"gpu_speedup": gpu_speedup, "dmer_subjects": DMER_SUBJECTS,
                              "windows_per_subject": TRIALS * WINDOWS}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def add_runs(out: Path, sizes: tuple[int, ...], loso_sizes: tuple[int, ...], command: str) -> dict:
    """More run sizes for the measurement in ``out``, at its preset, methods and workers, keeping
    its extraction: the large sizes take longest, and a measurement already made need not be
    repeated to reach them. Each added run records its own commit and load average, and the
    JSON is rewritten as each run finishes, so a stopped measurement keeps the sizes it
    finished. A size measured again replaces the earlier row."""
    from .provenance import provenance

    m = json.loads(out.read_text())
    m["command"] = f"{m['command']}; {command}"
    commit = provenance().get("git_commit", "")
    with tempfile.TemporaryDirectory(prefix="growth-") as tmp:
        for protocol, ns in (("subject-dependent", sizes), ("loso", loso_sizes)):
            for n in ns:
                load = os.getloadavg()[0]
                row = measure_run(n, protocol, m["preset"], Path(tmp), m["methods"], m["n_jobs"])
                row.update(load_before=load, git_commit=commit)
                m["runs"] = [r for r in m["runs"] if (r["protocol"], r["n_subjects"]) != (protocol, n)] + [row]
                out.write_text(json.dumps(m, indent=1) + "\n")
    return m


# ------------------------------------------------------------------ fitting and projecting
def fit_linear(n: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of y ≈ a + b·n, least squares (b alone through 0 with one point)."""
    if len(n) == 1:
        return 0.0, float(y[0] / n[0])
    b, a = np.polyfit(n, y, 1)
    return float(a), float(b)


def loso_units(n, val_size: float = 0.1):
    """Subject-trainings of a LOSO run on ``n`` subjects: n folds × the subjects each trains on
    (n − 1 minus the inner-validation subjects, as ``protocols.splits.loso`` carves them).

    The cost of a fold grows with its training windows (epochs × batches for the deep methods,
    iterations over the training set for the others), so a run's cost is linear in this count;
    a power law fitted to 2-6 subjects instead would extrapolate the small-n quirks (with 2
    subjects there is no validation subject, hence no early stopping) to 73.
    """
    n = np.asarray(n, dtype=float)
    m = n - 1
    n_val = np.where(m > 1, np.maximum(1, np.round(val_size * m)), 0)
    return n * (m - n_val)


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def project(m: dict) -> dict:
    """Every projected number of the page, from the measurements alone."""
    cores = m["machine"]["cores"] or 1
    n73 = m["assumptions"]["dmer_subjects"]
    ex = {}
    for step in STEPS:
        rows = [r for r in m["extraction"] if r["step"] == step]
        ex[step] = {"cpu_s": float(np.mean([r["cpu_s"] for r in rows])),
                    "cpu_s_max": float(np.max([r["cpu_s"] for r in rows])),
                    "peak_rss_mb": float(np.max([r["peak_rss_mb"] for r in rows])), "subjects": len(rows)}
    per_subject = sum(v["cpu_s"] for k, v in ex.items())
    out = {"extraction": ex, "extraction_per_subject_cpu_s": per_subject,
           "extraction_73_wall_s": per_subject * n73 / cores, "cores": cores}
    for protocol in ("subject-dependent", "loso"):
        rows = sorted((r for r in m["runs"] if r["protocol"] == protocol), key=lambda r: r["n_subjects"])
        if protocol == "loso" and sum(r["n_subjects"] >= 3 for r in rows) >= 2:
            # with 2 subjects a fold has no validation subject, so no early stopping: unlike 73
            rows = [r for r in rows if r["n_subjects"] >= 3]
        if not rows:
            continue
        n = np.array([r["n_subjects"] for r in rows], float)
        y = np.array([r["cpu_s"] for r in rows], float)
        x, x73 = (n, n73) if protocol == "subject-dependent" else (loso_units(n), float(loso_units(n73)))
        a, b = fit_linear(x, y)
        total73 = a + b * x73
        var = "n" if protocol == "subject-dependent" else "u"
        model = f"{a:.0f} + {b:.2f}·{var} CPU s" + (" (one point: proportional)" if len(rows) < 2 else "")
        # each method's CPU: the run's CPU split by the method's share of the jobs' (wall) seconds
        methods = {}
        shares = [{k: v / (sum(r["method_job_seconds"].values()) or 1.0) for k, v in r["method_job_seconds"].items()}
                  for r in rows]
        for meth in shares[-1]:
            ys = np.array([sh.get(meth, 0.0) * r["cpu_s"] for sh, r in zip(shares, rows)])
            a, b = fit_linear(x, ys)
            methods[meth] = {"cpu_s_73": max(a + b * x73, 0.0)}
            methods[meth]["share_last"] = shares[-1][meth]
        out[protocol] = {"n": n.tolist(), "x": np.asarray(x).tolist(), "x73": x73, "cpu_s": y.tolist(),
                         "model": model, "cpu_s_73": total73,
                         "wall_73_here": total73 / cores, "methods": methods}
    perf = m.get("perf")
    if perf:
        w = m["assumptions"]["windows_per_subject"]
        # training windows per job: subject-dependent 4/5 of a subject's, LOSO 72 subjects'; 10 % inner validation
        sizes = {"subject-dependent": (0.8 * w * 0.9, 5 * n73), "loso": ((n73 - 1) * w * 0.9, n73)}
        paper = {}
        for label, s in perf["steps"].items():
            paper[label] = {}
            for protocol, (n_train, jobs) in sizes.items():
                steps = s["epochs"] * math.ceil(n_train / s["batch"])
                paper[label][protocol] = {"steps_per_job": steps, "jobs": jobs,
                                          "cpu_s": steps * jobs * s["step_cpu_s"]}
        out["paper"] = paper
        out["gpu_speedup"] = m["assumptions"]["gpu_speedup"]
    return out


# ------------------------------------------------------------------ the page
def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine paths on a committed page)."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def plot(m: dict, p: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    n73 = m["assumptions"]["dmer_subjects"]
    grid = np.geomspace(2, n73, 50)
    for protocol, colour in (("subject-dependent", "tab:blue"), ("loso", "tab:red")):
        if protocol not in p:
            continue
        q = p[protocol]
        n, y = np.array(q["n"]), np.array(q["cpu_s"])
        ax.plot(n, y / 3600, "o", color=colour, label=f"{protocol} (measured)")
        x = np.array(q["x"])
        a, b = fit_linear(x, y)
        fit = a + b * (grid if protocol == "subject-dependent" else loso_units(grid))
        ax.plot(grid, fit / 3600, "--", color=colour, label=f"{protocol} fit: {q['model']}")
    ex = p["extraction_per_subject_cpu_s"]
    ax.plot(grid, ex * grid / 3600, ":", color="tab:green", label=f"feature extraction ({ex:.0f} CPU s per subject)")
    ax.axvline(n73, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Plain subject counts: log-scale minor labels like "3x10^0" overlap at this width.
    ticks = [2, 4, 8, 16, 32, n73]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("subjects")
    ax.set_ylabel("CPU hours (one core)")
    ax.set_title(f"Cost vs subjects ({m['preset']} preset, every method); projection to {n73}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def _added(m: dict) -> str:
    """Where runs were added by ``measure --add``: their commits and load averages."""
    added = [r for r in m["runs"] if "git_commit" in r]
    if not added:
        return ""
    commits = ", ".join(sorted({f"`{r['git_commit'][:10]}`" for r in added}))
    loads = ", ".join(f"{r['load_before']:.1f}" for r in added)
    sizes = ", ".join(f"{r['protocol']} {r['n_subjects']}" for r in added)
    return f"; runs added ({sizes}) at commit {commits}, load average {loads} when each began"


def render(m: dict, json_path: Path, png_name: str = PLOT.name) -> str:
    p = project(m)
    cores, n73 = p["cores"], m["assumptions"]["dmer_subjects"]
    rel = m["release"]
    lines = [
        "# Growth: the cost at DMER's size",
        "",
        "<!-- generated by `python -m benchmark.growth render` from "
        f"{_shown(json_path)}; do not edit -->",
        "",
        f"Measured {m['measured']} on {m['machine']['cpu']} ({cores} cores, load average "
        f"{m['machine']['load_before']:.1f} when the measurement began; process CPU time, which other load "
        "barely moves), commit "
        f"`{str(m['git_commit'])[:10]}`{_added(m)}. Reproduce (measure writes results/growth/growth.json):",
        "",
        "```bash",
        *m["command"].split("; "),
        f"python -m benchmark.growth render --json {_shown(json_path)}",
        "```",
        "",
        "## Feature extraction, per subject",
        "",
        f"A simulated raw release (`python -m benchmark simulate dmer`, [datasets](datasets.md#a-simulated-release)) "
        f"at DMER's rates, {rel['clip_seconds']:g} s clips, a {rel['video_size'][0]}×{rel['video_size'][1]} face "
        f"video at 30 fps, {rel['rest_seconds']:g} s rest and {rel['gap_seconds']:g} s between clips. Each step "
        "ran in a fresh process; peak memory is that process's (it includes reading and aligning the "
        "subject's raw files).",
        "",
        "| step | CPU s per subject (mean) | max | peak memory (MB) | subjects measured |",
        "|---|---:|---:|---:|---:|",
    ]
    for step, v in p["extraction"].items():
        lines.append(f"| {step} | {v['cpu_s']:.1f} | {v['cpu_s_max']:.1f} | {v['peak_rss_mb']:.0f} | {v['subjects']} |")
    lines += [
        "",
        f"Per subject: **{_fmt_s(p['extraction_per_subject_cpu_s'])}** of CPU. Subjects are extracted "
        f"independently (`prepare --n-jobs`), so {n73} subjects take {_fmt_s(p['extraction_per_subject_cpu_s'] * n73)} "
        f"of CPU: **{_fmt_s(p['extraction_73_wall_s'])} on this {cores}-core machine**, once (the cache keeps them).",
        "",
        "## Runs of every method",
        "",
        f"`--methods {m['methods']}`, `{m['preset']}` preset, `--n-jobs {m['n_jobs']}`, on DMER-shaped feature sets of "
        f"{TRIALS} trials × {WINDOWS} windows per subject (what a 27 s trial gives), built by the `synthetic` "
        "dataset at that size (the cost of a run depends on shapes, not values). Subject-dependent tests "
        "every trial once (`--folds 5` of 5 splits); LOSO holds out each subject.",
        "",
        "| protocol | subjects | CPU s | wall s | jobs | failed | peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(m["runs"], key=lambda r: (r["protocol"], r["n_subjects"])):
        lines.append(f"| {r['protocol']} | {r['n_subjects']} | {r['cpu_s']:.0f} | {r['wall_s']:.0f} | {r['jobs']} | "
                     f"{r['failed']} | {r['peak_rss_mb']:.0f} |")
    lines += ["", f"![cost against subjects]({png_name})", "", "### Projection to 73 subjects", ""]
    for protocol in ("subject-dependent", "loso"):
        if protocol not in p:
            continue
        q = p[protocol]
        why = ("linear in the subjects n: each subject's folds are independent" if protocol == "subject-dependent"
               else f"linear in u = n folds × training subjects per fold (n − 1 less the inner-validation "
                    f"subjects), u = {q['x73']:.0f} at {n73}: each fold's cost grows with its training set; "
                    "fitted on the runs with 3 or more subjects when there are two: with 2, a fold has no "
                    "validation subject, hence no early stopping")
        if q["cpu_s_73"] <= max(q["cpu_s"]):
            lines.append(f"- **{protocol}**: fit {q['model']} ({why}): the measured sizes do not show growth yet "
                         "(the fit does not increase); no projection.")
            continue
        lines.append(f"- **{protocol}**: fit {q['model']} ({why}) → {_fmt_s(q['cpu_s_73'])} of CPU at {n73} "
                     f"subjects: **{_fmt_s(q['wall_73_here'])} on this {cores}-core machine**; on single-core "
                     f"workers ([cluster](cluster.md)): {_fmt_s(q['cpu_s_73'] / 16)} on 16, "
                     f"{_fmt_s(q['cpu_s_73'] / 64)} on 64.")
    for protocol in ("subject-dependent", "loso"):
        if protocol not in p:
            continue
        lines += ["", f"Per method, {protocol} (the run's CPU split by each method's share of its jobs' "
                  "fit + predict seconds, fitted and projected the same way):", "",
                  "| method | share at the largest size measured | projected CPU at 73 |",
                  "|---|---:|---:|"]
        for meth, v in sorted(p[protocol]["methods"].items(), key=lambda kv: -kv[1]["cpu_s_73"]):
            lines.append(f"| {meth} | {100 * v['share_last']:.0f} % | {_fmt_s(v['cpu_s_73'])} |")
    if "loso" in p and p["loso"]["cpu_s_73"] > max(p["loso"]["cpu_s"]):
        q = p["loso"]
        lines += ["", "### The cheapest remedy", "",
                  f"LOSO dominates: {_fmt_s(q['wall_73_here'])} on this machine at the {m['preset']} preset, and every "
                  "fold trains on about 65 subjects. Its 73 folds × methods are independent jobs, so the cheapest "
                  "remedy, which changes no number, is more workers ([cluster](cluster.md), tested with real "
                  f"`dask` processes): {_fmt_s(q['cpu_s_73'] / 16)} on 16 single-core workers. A subject-grouped "
                  "K-fold (every subject tested once, K models per method) would cost about K/73 of LOSO "
                  f"(about {_fmt_s(q['cpu_s_73'] * 10 / 73 / p['cores'])} here for K = 10) but is a different "
                  "protocol; it is not implemented."]
    if "paper" in p:
        g = p["gpu_speedup"]
        lines += ["", "## The paper preset", "",
                  "Too long to run here: projected from the measured training step of each deep method at "
                  "the paper width (`tests/perf`, median process CPU time of one step) × its steps "
                  "(epochs × batches of the training part; 10 % of it is the inner validation split). "
                  f"On one GPU: the CPU time divided by {g:g}, an **assumed** speed-up of one GPU over one "
                  "CPU core for these small networks (not measured: this machine has no GPU). On N workers: "
                  "divided by N (jobs are independent).", "",
                  "| method | steps per job (subject-dependent / LOSO) | CPU (subject-dependent) | CPU (LOSO) | "
                  "one GPU (LOSO) | 16 workers (LOSO) |", "|---|---:|---:|---:|---:|---:|"]
        tot = {"subject-dependent": 0.0, "loso": 0.0}
        for label, v in sorted(p["paper"].items()):
            sd, lo = v["subject-dependent"], v["loso"]
            if "[" not in label:  # variants (the alternatives experiment) are not in the main table
                tot["subject-dependent"] += sd["cpu_s"]
                tot["loso"] += lo["cpu_s"]
            lines.append(f"| {label} | {sd['steps_per_job']} / {lo['steps_per_job']} | {_fmt_s(sd['cpu_s'])} | "
                         f"{_fmt_s(lo['cpu_s'])} | {_fmt_s(lo['cpu_s'] / g)} | {_fmt_s(lo['cpu_s'] / 16)} |")
        lines.append(f"| **every deep method (no variants)** | | {_fmt_s(tot['subject-dependent'])} | {_fmt_s(tot['loso'])} | "
                     f"{_fmt_s(tot['loso'] / g)} | {_fmt_s(tot['loso'] / 16)} |")
    return "\n".join(lines) + "\n"


def write_page(json_path: Path, doc: Path = DOC, png: Path = PLOT) -> None:
    m = json.loads(json_path.read_text())
    plot(m, project(m), png)
    doc.write_text(render(m, json_path.resolve(), png.name))


def _command(args) -> str:
    """The commands that reproduce a measurement, for its page: the options as parsed, with no
    path of the measuring machine (``--release``, and an absolute ``--perf``, are shown as
    placeholders); an option left empty or at its default is not shown."""
    perf = args.perf and (str(args.perf) if not args.perf.is_absolute() else "PERF_JSON")
    options = [("--add", args.add), ("--extract-subjects", None if args.add or args.release is not None else args.extract_subjects),
               ("--sizes", args.sizes), ("--loso-sizes", args.loso_sizes), ("--preset", args.preset),
               ("--n-jobs", args.n_jobs), ("--methods", args.methods if args.methods != "all" else None),
               ("--release", "RELEASE" if args.release is not None else None),
               ("--gpu-speedup", f"{args.gpu_speedup:g}" if args.gpu_speedup != GPU_SPEEDUP else None),
               ("--perf", perf)]
    measure = " ".join(["python -m benchmark.growth measure"]
                       + [flag if value is True else f"{flag} {value}" for flag, value in options
                          if value not in (None, "", False)])
    return f"{PERF_COMMAND.format(json=perf)}; {measure}" if perf else measure


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmark.growth", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    me = sub.add_parser("measure", help="measure extraction and runs; write the JSON")
    me.add_argument("--out", type=Path, default=ROOT / "results" / "growth" / "growth.json")
    me.add_argument("--release", type=Path, default=None,
                    help="an existing simulated release (its raw/ level) instead of writing one")
    me.add_argument("--extract-subjects", type=int, default=2)
    me.add_argument("--sizes", default=",".join(map(str, RUN_SIZES)), help="subject-dependent run sizes")
    me.add_argument("--loso-sizes", default=",".join(map(str, RUN_SIZES)))
    me.add_argument("--preset", default="smoke", choices=["smoke", "quick", "paper"])
    me.add_argument("--methods", default="all", help="methods to run (default all)")
    me.add_argument("--n-jobs", type=int, default=1,
                    help="workers of each run (CPU seconds are the run's work whatever this is)")
    me.add_argument("--add", action="store_true",
                    help="add runs at --sizes/--loso-sizes to the measurement in --out, keeping its extraction "
                         "(--preset, --methods and --n-jobs must be the measurement's)")
    me.add_argument("--perf", type=Path, default=None, help="pytest-benchmark JSON of tests/perf/test_perf_deep.py")
    me.add_argument("--gpu-speedup", type=float, default=GPU_SPEEDUP,
                    help="assumed speed-up of one GPU over one CPU core (recorded in the JSON)")
    re_ = sub.add_parser("render", help="write docs/growth.md and docs/growth.png from the JSON")
    re_.add_argument("--json", type=Path, default=ROOT / "results" / "growth" / "growth.json")
    re_.add_argument("--doc", type=Path, default=DOC, help="the page to write (default docs/growth.md)")
    re_.add_argument("--png", type=Path, default=PLOT, help="its plot (default docs/growth.png)")
    st = sub.add_parser("_step")
    st.add_argument("subject_dir")
    st.add_argument("step", choices=STEPS)
    args = ap.parse_args(argv)
    if args.command == "_step":
        print(json.dumps(_step(args.subject_dir, args.step)))
    elif args.command == "measure":
        if args.release is not None and not (args.release / "truth.json").is_file():
            print(f"error: --release {args.release}: not a simulated release (no truth.json; write one with "
                  "`python -m benchmark simulate dmer`)", file=sys.stderr)
            return 2
        sizes = tuple(int(s) for s in args.sizes.split(",") if s)
        loso = tuple(int(s) for s in args.loso_sizes.split(",") if s)
        if args.add:
            if not args.out.is_file():
                print(f"error: --add: no measurement in --out {args.out} to add to", file=sys.stderr)
                return 2
            m = json.loads(args.out.read_text())
            given = {"--preset": args.preset, "--methods": args.methods, "--n-jobs": args.n_jobs}
            own = {"--preset": m["preset"], "--methods": m["methods"], "--n-jobs": m["n_jobs"]}
            if given != own:
                flag = next(k for k in given if given[k] != own[k])
                print(f"error: {flag} {given[flag]}: --add measures at the measurement's own settings "
                      f"({', '.join(f'{k} {v}' for k, v in own.items())}); give those", file=sys.stderr)
                return 2
            add_runs(args.out, sizes, loso, _command(args))
            print(f"written: {args.out}")
            return 0
        measure(args.out, args.release, args.extract_subjects, sizes, args.preset, args.perf, args.gpu_speedup, loso,
                args.methods, args.n_jobs, _command(args))
        print(f"written: {args.out}")
    else:
        if not args.json.is_file():
            print(f"error: --json {args.json}: no such file (run `python -m benchmark.growth measure` first)",
                  file=sys.stderr)
            return 2
        write_page(args.json, args.doc, args.png)
        print(f"written: {args.doc}, {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
