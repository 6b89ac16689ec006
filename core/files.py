"""File modes shared by every writer of the suite.

Writers that replace a file atomically create it with ``tempfile.mkstemp``, whose mode is
0600 whatever the user asked for. On a shared machine (a lab server, a cluster's shared cache)
that hides run records and cached features from the group; so every such file is widened to
what the umask allows, as a file opened with ``open()`` would be.
"""
from __future__ import annotations

import os


def umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file under the current umask."""
    return 0o666 & ~umask()
