"""IEC 62056-21 protocol mode C on the meter's optical port, hardware-free: frames and
their block check (``frame``), the byte-fed mode C state machine (``modec``) and its
settings from meter.json (``settings``). What the registers mean is ``obis``'s job."""
