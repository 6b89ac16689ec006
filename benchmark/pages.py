"""Pages generated from committed results, so no results number in README or docs is typed by hand.

Committed reference results live under ``results/<name>/`` (`add`, ``python -m benchmark
pages --add RUN_DIR --name NAME``): the run's ``run.json`` (its spec: ``run --config
results/NAME/run.json`` reproduces it), its ``results.csv`` (one row per job) and ``meta.json``
(the table titles, when, on what machine and kernels, at which commit, and the run's wall time).
No predictions or records are committed: the pages need only the rows.

`render` writes, from those files and the command-line parser:

- ``docs/results/<name>.md``, one page per committed run: the setting (the table's title), the
  ranked table with its floor, reference, spread and significance notes, the command that
  reproduces it, and when, where and at which commit it was measured;
- ``docs/results/index.md``, the list of pages;
- ``docs/reference/cli.md``, the command-line reference, from the command line's parser;
- the README's generated blocks (between ``<!-- BEGIN generated: NAME -->`` and ``<!-- END
  generated: NAME -->``): ``excerpt`` (the head of the default run's table) and
  ``default-time`` (its measured wall time).

``pages --check`` renders into memory and exits 1 naming every file that differs, so CI fails
when a page is out of date with the committed results.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DEFAULT_RUN = "synthetic-default"  # the committed run behind the README's excerpt and time
_BLOCK = re.compile(r"(<!-- BEGIN generated: (?P<name>[\w-]+) -->\n).*?(<!-- END generated: (?P=name) -->)", re.S)


def add(run_dir: Path, name: str) -> Path:
    """Commit-ready copy of a finished run's spec and rows under ``results/<name>/``; its
    ``meta.json`` stores each table's typed key and title, so a page never parses text. ``name``
    is one folder of ``results/`` (never a path that leaves it). The records are read through
    `benchmark.results.open_run`, so a record whose stored metrics disagree with its
    predictions is committed with the re-derived values."""
    from .results import open_run
    from .validate import out_name

    out_name(name, "--name")
    run = open_run(run_dir)
    if run.experiment is not None:
        from .errors import UsageError

        raise UsageError(f"pages --add {run_dir}: an experiment; add one of its parts "
                         f"({', '.join(p.name for p in run.parts)}) at a time")
    part = run.parts[0]
    prov = part.records[0].get("provenance", {})
    started = sorted(r["started"] for r in part.records if r.get("started"))
    meta = {"tables": [{"key": t.key.to_dict(), "title": t.title} for t in part.tables],
            "measured": started[-1][:10] if started else "", "git_commit": prov.get("git_commit"),
            "cpu": prov.get("cpu") or prov.get("device_name"), "kernel": prov.get("kernel"),
            "wall_seconds": part.manifest.wall_seconds, "n_jobs": part.manifest.n_jobs}
    out = RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(part.rundir.manifest_path, out / "run.json")
    part.frame.drop(columns=["fit_seconds", "predict_seconds", "tune_seconds"]).to_csv(
        out / "results.csv", index=False)
    (out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    return out


def _reproduce(name: str, manifest) -> str:
    data = manifest.spec.get("dataset_options", {}).get("data_root")
    note = f" (real data under `{data}`)" if data else ""
    return (f"```bash\npython -m benchmark run --config results/{name}/run.json --out runs/{name}\n```\n"
            f"reproduces these rows{note}: `run.json` holds the whole run spec.\n")


def committed_tables(name: str):
    """The tables of committed run ``name``: [(rows, TableKey, title)], from its ``results.csv``
    and the keys and titles `add` stored in its ``meta.json``."""
    import pandas as pd

    from .results import TableKey, group_rows

    folder = RESULTS / name
    meta = json.loads((folder / "meta.json").read_text())
    frame = pd.read_csv(folder / "results.csv", keep_default_na=False, na_values=[""])
    keys = [(TableKey.from_dict(t["key"]), t["title"]) for t in meta["tables"]]
    return group_rows(frame, keys)


def verify(run_dir: Path, name: str) -> tuple[list[str], str | None]:
    """Where a fresh run of committed result ``name`` (``run --config results/NAME/run.json``)
    disagrees with the committed rows: every table mean that differs by more than the
    regression gate's floor for its metric (`benchmark.check.FLOORS`, the rounding margin
    of deterministic methods), and every column present on one side only. Empty when the code
    still makes the numbers the pages show.

    Also a note, or None: when there are differences and the run's math kernels
    (`benchmark.provenance.kernel_signature`) are not those the committed result names. The
    floor holds the deep methods' float32 training only on the same kernels
    (docs/reproducibility.md), so their differences may then be the kernels', not the code's."""
    from .check import FLOORS
    from .results import open_run, rows_table

    committed = {key.untuned(): rows_table(rows, key, title).means
                 for rows, key, title in committed_tables(name)}
    run = open_run(run_dir)
    fresh = {t.key.untuned(): t.table().means for t in run.tables}
    out = []
    for k in sorted(set(committed) | set(fresh)):
        if k not in committed or k not in fresh:
            out.append(f"table {k}: only in {'the run' if k in fresh else f'results/{name}'}")
            continue
        old, new = committed[k], fresh[k]
        for col in sorted(set(old.columns) ^ set(new.columns)):
            out.append(f"{col}: only in {'the run' if col in new.columns else f'results/{name}'}")
        for col in [c for c in old.columns if c in new.columns]:
            for metric, floor in FLOORS.items():
                a, b = float(old.at[metric, col]), float(new.at[metric, col])
                if not abs(a - b) <= floor:
                    out.append(f"{col} | {metric}: committed {a:.6f}, now {b:.6f} (tolerance {floor:g})")
    records = run.parts[0].records
    now = (records[0].get("provenance", {}).get("kernel") if records else None) or "unknown"
    then = json.loads((RESULTS / name / "meta.json").read_text()).get("kernel") or "unknown"
    note = None
    if out and now != then:
        note = (f"note: results/{name} was measured under kernels {then}, this run under {now}; the "
                "deep methods train in float32 and move across kernels (docs/reproducibility.md), "
                "so their differences may be the kernels'")
    return out, note


def result_page(name: str) -> str:
    from reports.tables import to_markdown

    from .results import rows_table
    from .rundir import read_manifest

    folder = RESULTS / name
    manifest = read_manifest(folder / "run.json")
    meta = json.loads((folder / "meta.json").read_text())
    parts = [f"# {name}\n", "_Generated by `python -m benchmark pages` from `results/"
             f"{name}/`; do not edit._\n"]
    for rows, key, title in committed_tables(name):
        parts.append(to_markdown(rows_table(rows, key, title)))
    wall = meta.get("wall_seconds")
    parts.append("## Reproduce\n\n" + _reproduce(name, manifest))
    parts.append("## Measured\n\n" + "\n".join([
        f"- when: {meta.get('measured') or 'unknown'}; commit: `{(meta.get('git_commit') or 'unknown')[:10]}`",
        f"- machine: {meta.get('cpu') or 'unknown'}; math kernels: {meta.get('kernel') or 'unknown'}",
        f"- wall time: {wall:.0f} s on {meta.get('n_jobs')} worker(s)" if wall else "- wall time: not recorded",
    ]) + "\n")
    return "\n".join(parts)


def _names() -> list[str]:
    return sorted(p.name for p in RESULTS.iterdir() if (p / "results.csv").exists()) if RESULTS.exists() else []


def index_page(names: list[str]) -> str:
    lines = ["# Results", "", "_Generated by `python -m benchmark pages` from the committed runs under "
             "`results/`; do not edit._", "",
             "Each page states its setting (dataset, label construction, protocol and split design, "
             "normalisation, preset, tuning), the floor (the prior) and the stimulus reference, the "
             "spread, the command that reproduces it, and when, on what machine and at which commit "
             "it was measured.", ""]
    for name in names:
        meta = json.loads((RESULTS / name / "meta.json").read_text())
        lines.append(f"- [{name}]({name}.md): {'; '.join(t['title'] for t in meta['tables'])}")
    return "\n".join(lines) + "\n"


def cli_page(parser) -> str:
    """The reference of every subcommand of ``parser`` (the command line's, passed in by
    ``benchmark.cli`` so that this module does not import it back)."""
    lines = ["# Command line", "", "_Generated by `python -m benchmark pages` from the argument "
             "parser; do not edit._", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        p.prog = f"python -m benchmark {name}"
        # a fixed width: argparse otherwise wraps to the terminal, and the page would differ by machine
        p.formatter_class = functools.partial(argparse.HelpFormatter, width=100)
        lines += [f"## `{name}`", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def readme_blocks(names: list[str]) -> dict[str, str]:
    """The README's generated blocks, from the default run's committed results."""
    if DEFAULT_RUN not in names:
        return {}
    page = result_page(DEFAULT_RUN)
    table = [ln for ln in page.splitlines() if ln.startswith("|")][:9]
    title = next(ln for ln in page.splitlines() if ln.startswith("### "))
    meta = json.loads((RESULTS / DEFAULT_RUN / "meta.json").read_text())
    wall = meta.get("wall_seconds")
    time_text = (f"{wall:.0f} s on {meta.get('n_jobs')} workers ({meta.get('cpu') or 'this machine'}, "
                 f"measured {meta.get('measured')})" if wall else "not recorded")
    return {"excerpt": f"{title}\n\n" + "\n".join(table) + "\n\n(the rest: "
                       f"[docs/results/{DEFAULT_RUN}.md](docs/results/{DEFAULT_RUN}.md))\n",
            "default-time": time_text + "\n"}


def _fill(text: str, blocks: dict[str, str]) -> str:
    return _BLOCK.sub(lambda m: m.group(1) + blocks.get(m.group("name"), "") + m.group(3)
                      if m.group("name") in blocks else m.group(0), text)


def render(parser) -> dict[Path, str]:
    """Every generated file's path and content; ``parser`` is the command line's."""
    names = _names()
    files = {ROOT / "docs" / "results" / f"{n}.md": result_page(n) for n in names}
    files[ROOT / "docs" / "results" / "index.md"] = index_page(names)
    files[ROOT / "docs" / "reference" / "cli.md"] = cli_page(parser)
    readme = ROOT / "README.md"
    files[readme] = _fill(readme.read_text(), readme_blocks(names))
    return files


def write(parser, check: bool = False) -> list[Path]:
    """Write the generated files, or with ``check`` only list those that differ."""
    stale = []
    for path, text in render(parser).items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return stale
