"""The simulated flash's byte loops (``boards/sim/blockdev.py``) as machine code.

Every read, program and erase of every save runs here, with the offset as an argument
(no slice object per call). Native code lives in this module alone: a port without
the native emitter cannot compile it and an ``.mpy`` for another architecture does not
load, so ``blockdev`` imports it inside ``try`` and keeps its plain loops otherwise.
"""
import micropython


@micropython.viper
def and_into(dst: ptr8, at: int, src: ptr8, n: int):
    """dst[at + i] &= src[i] for i < n: a NOR program."""
    i = 0
    while i < n:
        dst[at + i] = dst[at + i] & src[i]
        i += 1


@micropython.viper
def erase(dst: ptr8, at: int, n: int):
    """dst[at + i] = 0xFF for i < n: a NOR erase."""
    i = 0
    while i < n:
        dst[at + i] = 0xFF
        i += 1


@micropython.viper
def copy_from(dst: ptr8, src: ptr8, at: int, n: int):
    """dst[i] = src[at + i] for i < n: a read."""
    i = 0
    while i < n:
        dst[i] = src[at + i]
        i += 1
