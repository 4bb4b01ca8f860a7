"""One power-on of the simulated meter, as a process of its own (``prepay sim`` starts it).

The firmware's modules are deployed as a ROMFS image (MicroPython's read-only,
execute-in-place filesystem, the ESP32's ``romfs`` partition): the image is held in
memory *outside* the MicroPython heap, as memory-mapped flash is on a board, and
mounted at ``/rom``; imported bytecode then runs in place instead of being copied into
the heap. ``boot.py`` and ``main.py`` run from the bundle's root as source, as on a
board. Usage (normally from the launcher):

    python -m host.sim_power ROMFS_IMAGE BUNDLE_ROOT HEAPSIZE
"""
import ctypes
import os
import sys

BOOTSTRAP = (
    "import os, sys, uctypes, vfs\n"
    "a, n = os.getenv('PREPAY_SIM_ROMFS').split(':')\n"
    "vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(a), int(n))), '/rom')\n"
    "sys.path.insert(0, '/rom')\n"
    "del a, n\n"
    "import boards.sim.power_on\n")


def main(argv):
    image_path, root, heap = argv
    with open(image_path, "rb") as f:
        data = f.read()
    image = ctypes.create_string_buffer(data, len(data))   # outside the MicroPython heap
    os.environ["PREPAY_SIM_ROMFS"] = "%d:%d" % (ctypes.addressof(image), len(data))
    os.environ["PREPAY_SIM_ROOT"] = root
    from micropython_unix import main as micropython
    sys.argv = ["micropython", "-X", "heapsize=" + heap, "-c", BOOTSTRAP]
    return micropython()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
