"""Moved: the defocus model lives in :mod:`methods._defocus` (its one home; the trainers import it).

This alias keeps ``from bench.defocus import ...`` of branches written before the move working.
"""

from methods._defocus import *  # noqa: F403
from methods._defocus import __all__  # noqa: F401
