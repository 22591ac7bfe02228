"""Moved: the guided filters live in :mod:`baselines._guided_filter` (their one home; entries import it).

This alias keeps ``from bench.guided_filter import ...`` of branches written before the move working.
"""

from baselines._guided_filter import *  # noqa: F403
from baselines._guided_filter import __all__  # noqa: F401
