"""Worker processes that end when the process that started them ends, however it ends.

A run's joblib (loky) workers are separate processes: when the main process is killed with
SIGKILL (an out-of-memory killer, ``kill -9``, a scheduler's hard limit) nothing in it runs any
more, so it cannot stop them, and a worker busy with a job kept running, orphaned, holding its
memory (1.2 GB for two workers of the default run), and loky's resource tracker with it (it
exits once every process holding its pipe has). Each worker therefore watches its parent
itself: :func:`watch_parent`, run as the pool's initializer, starts a daemon thread that
exits the worker as soon as its parent process is gone.

Why a thread polling ``os.getppid()`` rather than ``prctl(PR_SET_PDEATHSIG)``: the death signal
fires when the *thread* that forked the worker ends, not the process, and loky forks
replacement workers from its executor-manager thread, which ends at every pool shutdown; a
worker tied to that thread would be killed while its process lives on. The poll is also
portable (macOS has no prctl). An orphan is re-parented (to init or a sub-reaper), so its
``getppid()`` changes; the check costs nothing measurable every ``interval`` seconds.
"""
from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 0.2
_watching: list[int] = []


def watch_parent(parent_pid: int, interval: float = POLL_SECONDS) -> None:
    """In a worker process: exit (``os._exit``, no clean-up that could block) when the process
    ``parent_pid`` is no longer this process's parent. Idempotent; a no-op when called in the
    parent itself (a backend that runs the pool's jobs in-process, e.g. joblib with one job),
    since watching the parent's own parent would tie a run to the shell that started it."""
    if os.getpid() == parent_pid or parent_pid in _watching:
        return
    if os.getppid() != parent_pid:  # the parent died before the worker got here
        os._exit(1)
    _watching.append(parent_pid)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
