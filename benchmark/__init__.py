"""Mixed-emotion recognition benchmark: CLI, registry, runner, results store."""
__version__ = "0.1.0"
