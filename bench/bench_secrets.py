"""What keeping the meter's secrets costs in flash writes and time: the first boot's
import of meter.json's secrets with the scrub of the filesystem's free blocks
(``app_keys.take``), and a key change's save in the key partition (``meter.keystore``).
docs/meter-security.md explains both.

Run: .venv/bin/python bench/bench_secrets.py   (prints numbers, asserts nothing)
It re-runs itself under the `micropython` beside this Python: MicroPython's own LittleFS
(vfs.VfsLfs2) on a simulated ESP32 chip in RAM, the `vfs` partition of
boards/esp32/micropython-board/partitions-prepay.csv (510 blocks) and `prepay_keys`
(2 blocks). Scale the times by the ESP32's flash: ~45 ms a sector erase.
"""
import sys

FS_BLOCKS = 510
KEY_BLOCKS = 2
ERASE_MS_ESP32 = 45
CONFIG = "boards/sim/examples/electricity-currency-tou.json"

if sys.implementation.name != "micropython":
    import os
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "micropython"), "-X",
                    "heapsize=4M", os.path.join(here, "bench_secrets.py")],
                   cwd=os.path.dirname(here), check=False)
    sys.exit(0)

import json  # noqa: E402
import time  # noqa: E402
import vfs  # noqa: E402

sys.path[:0] = [".", "firmware/lib"]
import app_keys  # noqa: E402
from app_config import split  # noqa: E402
from boards.sim.blockdev import RamFlash  # noqa: E402
from boards.sim.partition import Partition  # noqa: E402
from meter.keystore import KeyStore  # noqa: E402

chip = RamFlash(4096, FS_BLOCKS + KEY_BLOCKS)
fs = Partition(chip, 0, FS_BLOCKS)
vfs.VfsLfs2.mkfs(fs)
vfs.mount(vfs.VfsLfs2(fs), "/flash")
with open(CONFIG) as f:
    raw = json.load(f)
raw["ir"] = {"passwords": {"reader": "read-3141", "technician": "tech-2718"}}
with open("/flash/meter.json", "w") as f:
    json.dump(raw, f)
keys = KeyStore(Partition(chip, FS_BLOCKS, KEY_BLOCKS))

writes, erases, t0 = chip.writes, chip.erases, time.ticks_ms()
record = app_keys.take(keys, split(raw)[1], raw, "/flash/meter.json", "/flash")
ms = time.ticks_diff(time.ticks_ms(), t0)
erased = chip.erases - erases
print("first boot, %d-block LittleFS: %d block writes (%d erases) in %d ms here; "
      "~%d s of erases on an ESP32" % (FS_BLOCKS, chip.writes - writes, erased, ms,
                                        erased * ERASE_MS_ESP32 // 1000))

writes, erases, t0 = chip.writes, chip.erases, time.ticks_ms()
for gen in range(1, 101):
    record["key"] = "%016x" % gen
    record["gen"] = gen
    keys.save(record)
print("key change in the key partition: %.1f block writes (%.1f erases), %.2f ms here"
      % ((chip.writes - writes) / 100, (chip.erases - erases) / 100,
         time.ticks_diff(time.ticks_ms(), t0) / 100))

with open("/flash/meter.json") as f:
    raw = json.load(f)                  # as the first boot left it
writes, t0 = chip.writes, time.ticks_ms()
app_keys.take(keys, split(raw)[1], raw, "/flash/meter.json", "/flash")
print("a later boot: %d block writes, %d ms here" % (chip.writes - writes,
                                                     time.ticks_diff(time.ticks_ms(), t0)))
