"""Power-on of the simulated meter, as the ESP32's start-up does it: run ``boot.py``,
then ``main.py``, from the firmware bundle's root (``PREPAY_SIM_ROOT`` or the first
argument). ``host/sim_power.py`` mounts the modules as ROMFS first; from files:

    MICROPYPATH=<bundle>/lib:.frozen micropython -X heapsize=200K -m boards.sim.power_on <bundle>
"""
import os
import sys


def run(path):
    with open(path) as f:
        source = f.read()
    code = compile(source, path, "exec")
    del source
    exec(code, {"__name__": "__main__", "__file__": path})


root = os.getenv("PREPAY_SIM_ROOT") or (sys.argv[1] if len(sys.argv) > 1 else ".")
run(root + "/boot.py")
run(root + "/main.py")
