"""An exclusive lock on a run directory while a command writes it.

``run`` and ``report`` hold an exclusive ``fcntl.flock`` on ``<run>/.lock`` from before they
read the run's state until their last write, so ``run.json``, ``results.csv`` and the tables
always come from one command. A second command on the same directory **waits** for the first
to finish (it prints who holds the lock) and then works on the finished state: a second
``run`` with other methods then computes only its own jobs. Waiting rather than refusing lets
lab-mates share a run directory without retry loops; a command that must not wait can use its
own ``--out``. ``check`` takes the lock shared (it only reads).

The lock is released by the kernel when the process exits, even on SIGKILL, so a killed run
never leaves a stale lock. On a network file system ``flock`` is only as good as the server's
lock support: Linux NFS clients (v3 with NLM, v4) emulate it with ``fcntl`` byte-range locks,
which work across hosts; file systems without lock support (some SMB/sshfs mounts) may grant
the lock on every host, so two hosts can then write one directory at once.

The lock is re-entrant within a process (``run`` inside an experiment inside the CLI), and a
directory the lock had to create is removed again if the command fails before writing
anything but the lock file, so a failed run leaves no empty ``--out``.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import time
from pathlib import Path

from .errors import RunDirError

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # directories this process holds, with the nesting depth


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def locked(out: Path, shared: bool = False, create: bool = True):
    """Hold the lock of run directory ``out`` (created if needed when ``create``)."""
    out = Path(out).absolute()
    if out in _HELD:
        _HELD[out] += 1
        try:
            yield out
        finally:
            _HELD[out] -= 1
        return
    created = not out.exists()
    if created and not create:
        raise RunDirError(f"{out} does not exist; give the --out of a `run`")
    path = out / LOCK_NAME
    fd = _acquire(out, path, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    try:
        if not shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                          f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        _HELD[out] = 1
        try:
            yield out
        except BaseException:
            if created:
                _remove_if_empty(out)
            raise
        finally:
            del _HELD[out]
    finally:
        os.close(fd)


def _acquire(out: Path, path: Path, mode: int) -> int:
    """Open and lock ``path``; retried if the holder removed it meanwhile (a failed run that
    had created ``out``), so the lock taken is always on the file now at ``path``."""
    while True:
        try:
            out.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except PermissionError:  # someone else's run, readable only: lock it read-only
                fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise RunDirError(f"cannot create the run directory {out}: {exc.strerror or exc}; "
                              "choose a writable --out") from exc
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {_holder(path)} to finish writing {out} ...", file=sys.stderr, flush=True)
            fcntl.flock(fd, mode)
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)


def _remove_if_empty(out: Path) -> None:
    """Remove a directory this command created if it holds nothing but the lock file."""
    if {p.name for p in out.iterdir()} <= {LOCK_NAME}:
        (out / LOCK_NAME).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            out.rmdir()
