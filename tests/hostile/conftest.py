"""Registers the hostile-input world fixture (see hostile_world.py)."""

from hostile_world import world  # noqa: F401
