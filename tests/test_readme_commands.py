"""Every command the README's "Everyday commands" block shows still works: a documented flag
that errors is a broken promise.

The commands are read from README.md itself, so a new line is covered without a test edit.
`run` commands go through the command line's own parser and the full validation of
`benchmark.spec.build` (every flag, method, protocol and dataset option is checked there,
before any data loads) without running their jobs, which at the quick preset take minutes to
hours; `list`, `report` and `check` run for real. Placeholders are filled in: ``RUN_DIR`` and the
``--config`` file with a small finished run, ``/data/WESAD`` with the shared wesad-e4 data (the
command is skipped without it). The smoke-preset run that `check`'s baseline is keyed by is
`.ci/run`'s regression gate, which runs this exact `check` line; here `check` runs on a small
run and must refuse it as sharing no table (exit 2), the documented behaviour.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from benchmark.cli import _run_options, build_parser, main
from benchmark.spec import build

ROOT = Path(__file__).resolve().parents[1]
PREFIX = ".venv/bin/python -m benchmark "
WESAD = ROOT.parent / "shared" / "data" / "wesad_e4"


def readme_commands() -> list[list[str]]:
    """The argument lists of the README's ``.venv/bin/python -m benchmark …`` lines (comments
    dropped), excluding the install-and-run line of "Two commands" (run by hand, as a new user
    would; its `run` is the default, covered by the first item here)."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith(PREFIX):
                out.append(shlex.split(line[len(PREFIX):]))
    return out


COMMANDS = readme_commands()


def test_the_readme_shows_everyday_commands():
    assert len(COMMANDS) >= 10 and {c[0] for c in COMMANDS} >= {"run", "list", "report", "check"}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("readme") / "run"
    assert main(["run", "--methods", "prior,aa-knn", "--preset", "smoke", "--n-jobs", "1",
                 "--dataset-option", "n_subjects=3", "--dataset-option", "n_windows=2",
                 "--out", str(out)]) == 0
    return out


def _filled(args: list[str], small_run: Path) -> list[str]:
    args = [str(small_run) if a == "RUN_DIR" else a for a in args]
    args = [str(small_run / "run.json") if a.endswith("/run.json") else a for a in args]
    if "/data/WESAD" in args:
        if not WESAD.is_dir():
            pytest.skip(f"needs {WESAD}")
        args = [str(WESAD) if a == "/data/WESAD" else a for a in args]
    return args


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_readme_command_is_accepted(args, small_run, tmp_path, capsys):
    args = _filled(args, small_run)
    if args[0] == "run":
        parsed = build_parser().parse_args(args)
        options = _run_options(parsed)
        spec = build(**{"out": tmp_path / "never", **options})  # raises on any bad flag or value
        assert spec.methods and not (tmp_path / "never").exists()
    elif args[0] == "check":
        assert main(args) == 2  # the small run shares no table with the smoke baseline
        assert "no table in common" in capsys.readouterr().err
    else:
        assert main(args) == 0, capsys.readouterr().err
