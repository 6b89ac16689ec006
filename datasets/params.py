"""Deprecated location: moved to `core.params` (the bottom floor every package uses). This
alias keeps plugins written against 0.2 working for one version."""
import warnings

from core.params import *  # noqa: F401,F403
from core.params import __all__  # noqa: F401

warnings.warn("datasets.params moved to core.params; the old path goes in the next version",
              DeprecationWarning, stacklevel=2)
