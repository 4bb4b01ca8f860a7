"""The ESP32 board's own heap, measured at the ESP32's width: MicroPython's Unix port built
for 32 bits with the ``esp32`` bundle frozen in (firmware, tokens and ``boards/esp32``,
``prepay firmware``'s build for that board), the drivers imported and the board built,
per variant, against the tests' fake ``machine`` and ``esp32`` (``tests/fakes``).

An upper bound of what the real board costs: the fakes' Pin, UART, I2C, PWM, Timer and
ADC objects are Python instances with state for the tests, where an ESP32's are small C
objects (its pins static, in flash: the fake pins' share is measured and printed apart);
the fake key partition's RAM copy is left out (it exists before the count starts), as an
ESP32's partition is flash. Compared with the sim
board's share of ``prepay sim``'s heap (the same frozen32 build), measured the same way.
Prints numbers.

    python bench/bench_esp32_board_heap.py
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host.firmware.build import build  # noqa: E402

FAKES = os.path.join(ROOT, "tests", "fakes")
VARIANTS = ("electricity", "water")

MEASURE = """
import gc, json, sys
sys.path.insert(0, sys.argv[1])
sys.modules.pop("machine", None)        # the port's own machine has no Pin
import machine, esp32
machine.fake_reset()
esp32.fake_reset()
gc.collect()
base = gc.mem_alloc()
from boards.esp32 import board
gc.collect()
imported = gc.mem_alloc()
made = board.build_board({"name": "esp32", "variant": sys.argv[2]},
                         ticks_ms=machine.fake_ticks_ms)
gc.collect()
built = gc.mem_alloc()
pins = len(machine._state["pins"])      # as many fresh fake pins: what the fakes' cost
fresh = [machine.Pin(100 + i, machine.Pin.OUT) for i in range(pins)]
gc.collect()
modules = sorted(m for m in sys.modules if m.startswith("boards."))
print(json.dumps({"import": imported - base, "objects": built - imported,
                  "pins": pins, "fake_pins": gc.mem_alloc() - built,
                  "modules": modules, "supply": made.supply.kind}))
"""

SIM = """
import gc, json, sys
gc.collect()
base = gc.mem_alloc()
from boards.sim import board
gc.collect()
imported = gc.mem_alloc()
made = board.build_board({"name": "sim", "variant": sys.argv[1]})
gc.collect()
built = gc.mem_alloc()
from boards.sim import link
gc.collect()
print(json.dumps({"import": imported - base + gc.mem_alloc() - built,
                  "objects": built - imported, "flash": type(made.flash).__name__}))
"""


def run(binary, code, *args, cwd=None):
    proc = subprocess.run([binary, "-X", "heapsize=512K", "-c", code] + list(args),
                          capture_output=True, text=True, cwd=cwd or "/",
                          env=dict(os.environ, MICROPYPATH=".frozen"))
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (binary, (proc.stderr or proc.stdout).strip()))
    return json.loads(proc.stdout.splitlines()[-1])


def main():
    esp32_build = build("frozen32", board="esp32")
    sim_build = build("frozen32")
    print("ESP32 board drivers, frozen32 (32-bit, frozen), against tests/fakes; "
          "live heap after gc.collect()")
    for variant in VARIANTS:
        got = run(esp32_build["binary"], MEASURE, FAKES, variant)
        print("esp32 %-11s  import %5d B  board objects %5d B  total %5d B  (%s; %d modules; "
              "of the objects, %d fake pins %d B, static in flash on an ESP32)"
              % (variant, got["import"], got["objects"], got["import"] + got["objects"],
                 got["supply"], len(got["modules"]), got["pins"], got["fake_pins"]))
    with tempfile.TemporaryDirectory() as state:
        for variant in VARIANTS:
            got = run(sim_build["binary"], SIM, variant, cwd=state)
            print("sim   %-11s  import %5d B  board objects %5d B  total %5d B  (%s, "
                  "with the link)" % (variant, got["import"], got["objects"],
                                      got["import"] + got["objects"], got["flash"]))
            os.remove(os.path.join(state, "flash.img"))


if __name__ == "__main__":
    main()
