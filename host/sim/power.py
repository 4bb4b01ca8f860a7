"""One power-on of the simulated meter, as a process of its own (``prepay sim`` starts it).

The firmware's modules are deployed as a ROMFS image (MicroPython's read-only,
execute-in-place filesystem, the ESP32's ``romfs`` partition): the image is held in
memory *outside* the MicroPython heap, as memory-mapped flash is on a board, and
mounted at ``/rom``; imported bytecode then runs in place instead of being copied into
the heap. ``boot.py`` and ``main.py`` run from the bundle's root as source, as on a
board. The meter's data flash, the state directory's image file, is memory-mapped
too: the sim board's flash device then reads and programs it without a system call
or a buffer on the heap, and what it wrote is in the file even when the process is
killed. Usage (normally from the launcher, in the state directory):

    python -m host.sim.power ROMFS_IMAGE BUNDLE_ROOT HEAPSIZE
"""
import ctypes
import json
import mmap
import os
import sys

from boards.sim.board import BLOCK_SIZE, flash_blocks

BOOTSTRAP = (
    "import os, sys, uctypes, vfs\n"
    "a, n = os.getenv('PREPAY_SIM_ROMFS').split(':')\n"
    "vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(a), int(n))), '/rom')\n"
    "sys.path.insert(0, '/rom')\n"
    "del a, n\n"
    "import boards.sim.power_on\n")


def map_flash(path, size):
    """The flash image file mapped shared (created erased) and its address; None for a
    file of another size (the board's file-backed flash then reports it)."""
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(b"\xff" * size)
    with open(path, "r+b") as f:
        if os.fstat(f.fileno()).st_size != size:
            return None
        mapped = mmap.mmap(f.fileno(), size)
    return mapped, ctypes.addressof(ctypes.c_char.from_buffer(mapped))


def configured_flash_blocks():
    """The flash size meter.json gives the board; None when the file is unreadable
    (the firmware then boots on its file-backed flash and shows the configuration error)."""
    try:
        with open("meter.json") as f:
            blocks = flash_blocks(json.load(f).get("board") or {})
    except (OSError, ValueError, AttributeError):
        return None
    return blocks if type(blocks) is int and blocks > 0 else None


def main(argv):
    image_path, root, heap = argv
    with open(image_path, "rb") as f:
        data = f.read()
    image = ctypes.create_string_buffer(data, len(data))   # outside the MicroPython heap
    os.environ["PREPAY_SIM_ROMFS"] = "%d:%d" % (ctypes.addressof(image), len(data))
    os.environ["PREPAY_SIM_ROOT"] = root
    blocks = configured_flash_blocks()
    mapped = blocks and map_flash(os.getenv("PREPAY_SIM_IMAGE") or "flash.img",
                                  blocks * BLOCK_SIZE)
    if mapped:  # stays mapped until the firmware process ends
        os.environ["PREPAY_SIM_FLASH"] = "%d:%d" % (mapped[1], blocks * BLOCK_SIZE)
    from micropython_unix import main as micropython
    sys.argv = ["micropython", "-X", "heapsize=" + heap, "-c", BOOTSTRAP]
    return micropython()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
