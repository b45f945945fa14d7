"""Compatibility entry point: the Git write-back lives in ``automator.git``."""

from automator.git import *  # noqa: F403
from automator.git import __all__ as __all__
