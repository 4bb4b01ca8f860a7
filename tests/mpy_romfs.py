"""Starts the MicroPython Unix port (the PyPI package, inside this process) with a ROMFS
image held outside its heap, as ``host/sim/power.py`` starts the simulated meter: the
runner mounts it at ``/rom`` (``PREPAY_TEST_ROMFS``) and the compiled modules' bytecode
runs in place, as from a board's romfs partition or a frozen build, instead of being
copied into the heap.

Usage: python tests/mpy_romfs.py IMAGE -X heapsize=200K tests/mpy_runner.py tests/test_x.py /rom
"""
import ctypes
import os
import sys


def main(argv):
    with open(argv[0], "rb") as f:
        data = f.read()
    image = ctypes.create_string_buffer(data, len(data))   # lives until the process ends
    os.environ["PREPAY_TEST_ROMFS"] = "%d:%d" % (ctypes.addressof(image), len(data))
    from micropython_unix import main as micropython
    sys.argv = ["micropython"] + argv[1:]
    return micropython()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
