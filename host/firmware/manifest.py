"""The frozen manifest: the list MicroPython's build compiles into the firmware image,
made from the bundle's own list (``bundle.shipped``), so what a bundle ships is exactly
what a firmware image freezes, under the names the device imports.

A bundle puts ``firmware/lib/meter/core.py`` at ``lib/meter/core.mpy`` and ``/lib`` is on
the device's path, so the frozen module is ``meter/core.py``; ``boot.py`` and ``main.py``
stay at the top, where the ESP32's start-up looks for them (frozen first, then the
filesystem: ``pyexec_file_if_exists`` in MicroPython's ``shared/runtime/pyexec.c``).
"""
import os

from host.provisioning.bundle import REPO_ROOT, shipped

# What each port needs besides the firmware: the Unix port's own manifest wants
# micropython-lib, which the pinned source subset leaves out, so only asyncio is kept;
# the ESP32 port's manifest is its start-up (_boot.py, inisetup.py), asyncio and drivers.
PORT_BASE = {
    "unix": 'include("$(MPY_DIR)/extmod/asyncio")',
    "esp32": 'include("$(PORT_DIR)/boards/manifest.py")',
}


def frozen_modules(board, root=REPO_ROOT):
    """``[(folder, (module file, ...)), ...]`` for ``freeze()``, one row per folder."""
    entries, _ = shipped(root, board)
    folders = {}
    for source, dest, _compiled in entries:
        name = dest[len("lib/"):] if dest.startswith("lib/") else dest
        if name.endswith(".mpy"):
            name = name[:-len(".mpy")] + ".py"
        if not source.endswith(name):
            raise ValueError("%s ships as %s: not a module path of its own" % (source, dest))
        folder = os.path.normpath(os.path.join(root, source[:-len(name)] or "."))
        folders.setdefault(folder, []).append(name)
    return [(folder, tuple(names)) for folder, names in folders.items()]


def manifest_text(board, port, root=REPO_ROOT):
    """A MicroPython ``manifest.py`` freezing the ``board`` bundle for ``port``."""
    lines = ["# Made by host/firmware/manifest.py from the %s bundle's file list." % board,
             PORT_BASE[port]]
    for folder, names in frozen_modules(board, root):
        lines.append("freeze(%r, (%s))" % (folder, "".join("%r, " % n for n in names)))
    return "\n".join(lines) + "\n"
