"""The hardware-independent meter core (see firmware/README.md). Import submodules
directly, e.g. ``from meter.core import Meter``; this package imports nothing itself
so that a board can load only what it needs."""
