"""Power-on of the simulated board with a console, as an ESP32 running MicroPython
starts: mount the flash's filesystem, run ``boot.py`` and ``main.py`` from it (whatever
was installed there: nothing on a blank board), then the REPL on the console
(``boards/sim/repl.py``). The console is the process's stdin/stdout, a pty the launcher
(``host/sim/console.py``) bridges to the path a technician's tools open.

    MICROPYPATH=<repo> micropython -X heapsize=512K -m boards.sim.console

The board's own code (this module, the REPL, the flash device) plays the part of the
port's C code: it is loaded from the repository before the flash is mounted, and then
dropped from ``sys.modules`` so that ``import boards.sim.board`` and the firmware's
modules come from the flash's ``/lib`` only. The mounted chip is handed to the firmware's
board as ``sys.modules["simchip"]`` (``boards/sim/board.py`` ``mount_flash``).

Environment: ``PREPAY_SIM_IMAGE`` (default ``flash.img``), ``PREPAY_SIM_BLOCKS`` (chip
size, default 128 blocks of 4 KiB), ``PREPAY_SIM_REPL=raw`` (a soft reset from the raw
REPL: boot.py only, then the raw REPL).
"""
import os
import sys

import vfs

from boards.sim.blockdev import FileFlash
from boards.sim.partition import Partition
from boards.sim.repl import Repl

MOUNT = "/flash"
BLOCK_SIZE = 4096
KEY_BLOCKS = 2


class Chip:
    """The mounted flash, for the firmware's board to use rather than mount again."""

    def __init__(self, flash):
        self.flash = flash


def mount(image, blocks):
    flash = FileFlash(image, BLOCK_SIZE, blocks, sync=False, piece=256)
    part = Partition(flash, 0, blocks - KEY_BLOCKS)
    try:
        fs = vfs.VfsLfs2(part)
    except OSError:                 # a blank chip: an empty filesystem, as esp32 makes
        vfs.VfsLfs2.mkfs(part)
        fs = vfs.VfsLfs2(part)
    vfs.mount(fs, MOUNT)
    return flash


def run_file(name):
    try:
        with open(name) as f:
            source = f.read()
    except OSError:
        return
    code = compile(source, name, "exec")
    del source
    exec(code, {"__name__": "__main__", "__file__": name})


def main():
    image = os.getenv("PREPAY_SIM_IMAGE") or "flash.img"
    blocks = int(os.getenv("PREPAY_SIM_BLOCKS") or 128)
    try:
        os.stat(image)
    except OSError:
        from boards.sim.blockdev import create_image
        create_image(image, blocks * BLOCK_SIZE)
    sys.modules["simchip"] = Chip(mount(image, blocks))
    os.chdir(MOUNT)
    for name in list(sys.modules):          # the board's code is not the firmware's
        if name == "boards" or name.startswith("boards."):
            del sys.modules[name]
    sys.path[:] = ["", MOUNT + "/lib", ".frozen"]
    raw = os.getenv("PREPAY_SIM_REPL") == "raw"
    repl = Repl()
    try:
        run_file("boot.py")
        if not raw:
            run_file("main.py")
    except KeyboardInterrupt:
        sys.stdout.write("\r\nKeyboardInterrupt\r\n")
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - a board prints it and offers the REPL
        sys.print_exception(exc, sys.stdout)
    if raw:
        repl.raw()
    else:
        repl.friendly()


main()
