"""Deprecated location: the metric definitions moved to `core.metrics`, so that methods
(the conformance checks) can use them without importing upward. This alias keeps code written
against 0.2 working for one version."""
import warnings

from core.metrics import *  # noqa: F401,F403
from core.metrics import __all__  # noqa: F401

warnings.warn("reports.metrics moved to core.metrics; the old path goes in the next version",
              DeprecationWarning, stacklevel=2)
