"""A run killed with SIGKILL leaves no process behind: its joblib (loky) workers and loky's
resource tracker end with it (benchmark.lifetime), for ``run --n-jobs 2`` and for the feature
extraction pool of ``prepare``.

Each test starts the real command line, waits until its worker processes exist and are busy,
lists every descendant of the main process from /proc, SIGKILLs the main process alone (as
the out-of-memory killer or ``kill -9`` would: nothing in it runs afterwards), and checks that
none of the listed processes is still running a few seconds later.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, shared_data

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
GRACE_SECONDS = 10.0


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of ``pid``, or None when it no longer exists."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may contain spaces
    return int(fields[1]), fields[0]


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append(int(entry.name))
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def running(pids: set[int]) -> set[int]:
    """The ``pids`` that still run (a zombie has ended; only its exit status is left)."""
    return {p for p in pids if (st := _stat(p)) is not None and st[1] != "Z"}


def kill_main_and_watch(proc: subprocess.Popen, ready, min_children: int) -> set[int]:
    """Wait (up to 120 s) until ``ready()`` and ``min_children`` descendants, SIGKILL the main
    process, and return the descendants still running GRACE_SECONDS later."""
    deadline = time.monotonic() + 120
    kids: set[int] = set()
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the command ended before it could be killed:\n{proc.stderr.read()[-2000:]}"
        kids = descendants(proc.pid)
        if len(kids) >= min_children and ready():
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"no {min_children} worker processes within 120 s (saw {sorted(kids)})")
    kids = descendants(proc.pid)  # the full list right before the kill
    assert len(running(kids)) >= min_children
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + GRACE_SECONDS
    while running(kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = running(kids)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return left


def _start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmark", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "BENCHMARK_QUIET": "1", **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_sigkilled_run_leaves_no_worker(tmp_path):
    out = tmp_path / "run"
    # Two deep methods at the quick preset: ~40 jobs of seconds each, so the run is mid-way
    # (both workers busy) when its first records appear.
    proc = _start(["run", "--methods", "helo,mpcl", "--n-jobs", "2", "--out", str(out)], {})
    records = out / "records"
    left = kill_main_and_watch(proc, lambda: records.exists() and any(records.rglob("*.json")),
                               min_children=2)
    assert not left, f"processes of the killed run still running after {GRACE_SECONDS:g} s: {sorted(left)}"


@pytest.mark.realdata
def test_sigkilled_prepare_leaves_no_worker(tmp_path):
    data = shared_data("wesad_e4")
    # A cold feature cache, so that both workers are extracting when the kill comes.
    proc = _start(["prepare", "--dataset", "wesad-e4", "--data-root", str(data), "--n-jobs", "2",
                   "--dataset-option", 'subjects=["S2","S3","S4","S5"]'],
                  {"MIXED_EMOTION_CACHE": str(tmp_path / "cache")})
    started = []

    def busy() -> bool:  # two workers seen for a second: both are past start-up and extracting
        started.append(time.monotonic())
        return started[-1] - started[0] > 1.0

    left = kill_main_and_watch(proc, busy, min_children=2)
    assert not left, f"processes of the killed prepare still running after {GRACE_SECONDS:g} s: {sorted(left)}"
