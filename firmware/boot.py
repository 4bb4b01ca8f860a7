"""Runs before main.py: reserve room for an exception raised in an interrupt handler
(the power-fail IRQ; ports without the call skip it) and start main.py with a clean heap."""
import gc

import micropython

if hasattr(micropython, "alloc_emergency_exception_buf"):
    micropython.alloc_emergency_exception_buf(100)
gc.collect()
