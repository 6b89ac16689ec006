"""Where a run's results go when ``--out`` is not given (light: the CLI's fast path uses it)."""
from pathlib import Path


def default_out(dataset: str, protocol: str, preset: str) -> Path:
    return Path("runs") / f"{dataset}-{protocol}-{preset}"
