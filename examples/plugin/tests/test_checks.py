"""The suite's public conformance checks over this package's method, as its own CI runs them.

The suite is not installable, so its checkout goes on PYTHONPATH:

    PYTHONPATH=/path/to/suite python -m pytest examples/plugin/tests
"""
from methods.checks import parametrize_with_checks
from mixed_emotion_ridge import RidgeLDL


@parametrize_with_checks([RidgeLDL])
def test_conformance(method, check):
    check(method)
