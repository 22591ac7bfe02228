"""Fusion metrics. Each module registers one metric family; imports are explicit, by name."""

from metrics import entropy  # noqa: F401
