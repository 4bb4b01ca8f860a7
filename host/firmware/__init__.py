"""The firmware built into MicroPython itself (frozen), for the Unix port here and an
ESP32 image elsewhere: ``manifest`` (what is frozen, from the bundle's list), ``source``
(the pinned MicroPython source), ``build`` (the cached Unix-port builds)."""
