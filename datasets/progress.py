"""Deprecated location: moved to `core.progress` (the bottom floor every package uses). This
alias keeps plugins written against 0.2 working for one version."""
import warnings

from core.progress import *  # noqa: F401,F403
from core.progress import __all__  # noqa: F401

warnings.warn("datasets.progress moved to core.progress; the old path goes in the next version",
              DeprecationWarning, stacklevel=2)
