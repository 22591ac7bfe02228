"""Classical fusion methods. Each module registers one method; imports are explicit, by name."""

from baselines import average  # noqa: F401
from baselines import maximum  # noqa: F401
