"""Mixed-emotion recognition benchmark: the command line, the Python API, the runner and the
run directory.

``benchmark.run(...)`` and ``benchmark.load(run_dir)`` are the Python API
(`benchmark.api`); they are imported on first use, so ``import benchmark`` stays light and
the command line's warm re-run stays fast. ``benchmark.BenchmarkError`` is the base of every
error the suite raises for bad input (`benchmark.errors`): one ``except`` catches them all.
"""
__version__ = "0.2.0"
__all__ = ["run", "load", "Results", "BenchmarkError"]


def __getattr__(name: str):
    if name == "BenchmarkError":
        from .errors import BenchmarkError

        return BenchmarkError
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
