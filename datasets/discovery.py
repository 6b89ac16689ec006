"""Deprecated location: moved to `core.discovery` (the bottom floor every package uses). This
alias keeps plugins written against 0.2 working for one version."""
import warnings

from core.discovery import *  # noqa: F401,F403
from core.discovery import __all__  # noqa: F401

warnings.warn("datasets.discovery moved to core.discovery; the old path goes in the next version",
              DeprecationWarning, stacklevel=2)
