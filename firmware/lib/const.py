"""``const`` for the firmware and the boards, on both runtimes.

MicroPython's compiler puts the value of ``NAME = const(1)`` into the code that uses
it, and a ``_NAME`` (private to its module) takes no global at all: no dict entry on
the heap, no interned name, no lookup. CPython (tests, benches) just takes the value.
``from const import const``; tokens/ has its own two lines (it imports nothing of the
firmware).
"""
try:
    from micropython import const
except ImportError:     # CPython
    def const(value):
        return value
