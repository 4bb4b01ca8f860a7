"""The meter's OBIS registers (``registers``: read; ``settings``: R1/W1 of settings and
the token carrier), one definition for the optical port and telemetry. docs/obis.md."""
