"""Power-on of the simulated meter, as the ESP32's start-up does it: run ``boot.py``,
then ``main.py``, from the firmware bundle's root (``PREPAY_SIM_ROOT`` or the first
argument). ``host/sim/power.py`` mounts the modules as ROMFS first; from files:

    MICROPYPATH=<bundle>/lib:.frozen micropython -X heapsize=200K -m boards.sim.power_on <bundle>

Without a root, ``boot.py`` and ``main.py`` are the ones frozen into the firmware image
(``prepay firmware build``), as an ESP32 runs its frozen ones:

    MICROPYPATH=.frozen <frozen build>/micropython -X heapsize=64K -m boards.sim.power_on
"""
import os
import sys


def run(path):
    with open(path) as f:
        source = f.read()
    code = compile(source, path, "exec")
    del source
    exec(code, {"__name__": "__main__", "__file__": path})


def power_gone():
    """True when the simulated flash has cut the power (an error on the way is then
    just the meter dying, not a bug): report it and wait to be switched off."""
    board = sys.modules.get("boards.sim.board")
    flash = getattr(board, "FLASH", None) if board else None
    if flash is None or flash.powered:
        return False
    sys.stdout.write('@@{"cut": true, "ms": %d, "switch": "unknown", "writes": %d}\n'
                     % (int(os.getenv("PREPAY_SIM_TIME") or 0) * 1000, flash.writes))
    while sys.stdin.readline():
        pass
    return True


root = os.getenv("PREPAY_SIM_ROOT") or (sys.argv[1] if len(sys.argv) > 1 else None)
try:
    if root is None:        # frozen: importing them runs them, in flash, in place
        __import__("boot")
        __import__("main")
    else:
        run(root + "/boot.py")
        run(root + "/main.py")
except Exception:  # noqa: BLE001 - re-raised unless the power is gone
    if not power_gone():
        raise
