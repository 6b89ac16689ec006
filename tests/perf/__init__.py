"""Speed benchmarks; see conftest.py for how to run them and gate.py for the CI ratio gate."""
