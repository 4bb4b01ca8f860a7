"""Store flash wear and cost: block writes per save by record size, block
writes per day, flash life; us and heap per save. docs/flash-wear.md explains.

Run: .venv/bin/python bench/bench_store.py   (prints numbers, asserts nothing)
It re-runs itself under the `micropython` beside this Python: the figures are
for MicroPython's own LittleFS (vfs.VfsLfs2, as on the ESP32) over a simulated
2 MiB NOR `vfs` partition (512 x 4096-byte blocks) in RAM.
"""
import sys

MICROPYTHON = sys.implementation.name == "micropython"
BLOCK_SIZE = 4096
BLOCK_COUNT = 512            # the 2 MiB `vfs` partition of a 4 MB ESP32
ENDURANCE = 100000           # NOR erase cycles per block, typical
STATIC_BLOCKS = 80           # firmware .py/.mpy files and config on the same partition (~320 KiB)
SIZES = (60, 100, 108, 150, 300, 804, 1500)
SAVES_PER_SIZE = 2000
WEAR_RUN_SAVES = 20000
FULL_LOAD_W = 10000
HOUSEHOLD_WH_PER_DAY = 10000  # about 3,650 kWh a year
QUANTUM_WH = 50               # the core's save_quantum_milli default: 50 (0.05 kWh)
MAX_INTERVAL_S = 3600         # the core's save_max_interval_s
EVENTS_SAVES_PER_DAY = 96     # events record at most every 900 s
CORE_RECORD_BYTES = 804       # the core's "meter" record (measured, fresh meter)
EVENTS_RECORD_BYTES = 6000    # about 200 events of ~30 bytes
HISTORY_RECORD_BYTES = 3000   # 62 days + 24 months


def rerun_under_micropython():
    import os
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    for heap, part in (("32M", "wear"), ("200K", "cost")):
        subprocess.run([exe, "-X", "heapsize=" + heap, os.path.join(here, "bench_store.py"), part],
                       cwd=os.path.dirname(here), check=False)


if not MICROPYTHON:
    rerun_under_micropython()
    sys.exit(0)

import gc  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import vfs  # noqa: E402

sys.path[:0] = [".", "firmware/lib"]
from boards.sim.blockdev import RamFlash  # noqa: E402
from meter.store import Store, encode_record, encode_slot  # noqa: E402


class WearFlash(RamFlash):
    """RamFlash that also counts erases per block and bytes programmed."""

    def __init__(self, block_size, block_count):
        RamFlash.__init__(self, block_size, block_count)
        self.erase_counts = [0] * block_count
        self.bytes_programmed = 0

    def writeblocks(self, block, buf, offset=None):
        self.bytes_programmed += len(buf)
        return RamFlash.writeblocks(self, block, buf, offset)

    def ioctl(self, op, arg):
        if op == 6:
            self.erase_counts[arg] += 1
        return RamFlash.ioctl(self, op, arg)


def record_of(json_bytes):
    """A record whose compact JSON is json_bytes long (ints and a string)."""
    record = {"t": 800000000, "bal": 123456789, "imp": 4567890, "pad": ""}
    record["pad"] = "x" * (json_bytes - len(encode_record(record)))
    return record


def fresh_flash(block_count=BLOCK_COUNT):
    gc.collect()
    dev = WearFlash(BLOCK_SIZE, block_count)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/flash")
    store = Store("/flash/state")
    # the meter's other records, present as they would be
    store.save("config", record_of(1200))
    store.save("history", record_of(HISTORY_RECORD_BYTES))
    return dev, store


def per_save(json_bytes, saves):
    dev, store = fresh_flash()
    record = record_of(json_bytes)
    p0, e0, b0 = dev.programs, dev.erases, dev.bytes_programmed
    for i in range(saves):
        record["t"] = i
        store.save("meter", record)
    result = ((dev.programs - p0) / saves, (dev.erases - e0) / saves,
              (dev.bytes_programmed - b0) / saves)
    vfs.umount("/flash")
    return result


def years(erases_per_day, blocks):
    return blocks * ENDURANCE / erases_per_day / 365.25


def wear_part():
    print("Store on vfs.VfsLfs2, %d x %d-byte blocks (MicroPython %s)"
          % (BLOCK_COUNT, BLOCK_SIZE, sys.implementation.version))
    slot_overhead = len(encode_slot("meter", 1000000, "")) - 0
    print("slot file = JSON + %d bytes (CRC, seq up to 10^6, newline);"
          " LittleFS keeps files <= 128 bytes inline in the directory" % slot_overhead)
    print()
    print("%8s %8s %12s %12s %14s" % ("json B", "file B", "programs/save", "erases/save", "B programmed"))
    erases_by_size = {}
    for size in SIZES:
        programs, erases, nbytes = per_save(size, SAVES_PER_SIZE)
        erases_by_size[size] = erases
        file_bytes = len(encode_slot("meter", 1000000, encode_record(record_of(size))))
        print("%8d %8d %12.3f %12.3f %14.0f" % (size, file_bytes, programs, erases, nbytes))
    big_events = per_save(EVENTS_RECORD_BYTES, 200)[1]
    big_history = per_save(HISTORY_RECORD_BYTES, 200)[1]
    print("%8d %8s %12s %12.3f   (events record)" % (EVENTS_RECORD_BYTES, "", "", big_events))
    print("%8d %8s %12s %12.3f   (history record)" % (HISTORY_RECORD_BYTES, "", "", big_history))

    print()
    full_saves = FULL_LOAD_W * 24 // QUANTUM_WH
    home_saves = HOUSEHOLD_WH_PER_DAY // QUANTUM_WH + 24  # + max-interval saves at night
    fixed = EVENTS_SAVES_PER_DAY * big_events + big_history + 5 * erases_by_size[CORE_RECORD_BYTES]
    pool = BLOCK_COUNT - STATIC_BLOCKS
    print("saves of the hot record per day: full load %d W -> %d; household %d Wh/day -> %d"
          % (FULL_LOAD_W, full_saves, HOUSEHOLD_WH_PER_DAY, home_saves))
    print("plus per day: %d events saves, 1 history save, ~5 top-up/config saves = %.0f erases"
          % (EVENTS_SAVES_PER_DAY, fixed))
    print("life = %d levelled blocks x %d cycles / erases per day" % (pool, ENDURANCE))
    print()
    print("%-34s %14s %12s %10s" % ("hot record", "load", "erases/day", "years"))
    for label, size in (("core 'meter' record, %d B" % CORE_RECORD_BYTES, CORE_RECORD_BYTES),
                        ("small hot record, 100 B (inline)", 100)):
        for load, saves in (("10 kW", full_saves), ("household", home_saves)):
            per_day = saves * erases_by_size[size] + fixed
            print("%-34s %14s %12.0f %10.1f" % (label, load, per_day, years(per_day, pool)))

    print()
    for size, saves in ((CORE_RECORD_BYTES, WEAR_RUN_SAVES), (100, WEAR_RUN_SAVES)):
        dev, store = fresh_flash()
        record = record_of(size)
        for i in range(saves):
            record["t"] = i
            store.save("meter", record)
        counts = dev.erase_counts
        used = [c for c in counts if c]
        print("levelling after %d saves of %d B: %d erases over %d blocks, mean %.1f, max %d per block"
              % (saves, size, sum(counts), len(used), sum(counts) / BLOCK_COUNT, max(counts)))
        vfs.umount("/flash")


def cost_part():
    print()
    print("cost per save, MicroPython Unix port, -X heapsize=200K")
    gc.collect()
    dev = RamFlash(BLOCK_SIZE, 16)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/flash")
    lfs_store = Store("/flash/state")
    posix_dir = "/tmp/prepay-bench-store"
    try:
        os.mkdir(posix_dir)
    except OSError:
        pass
    posix_store = Store(posix_dir)
    for label, store in (("VfsLfs2 on RamFlash", lfs_store), ("host disk (VfsPosix)", posix_store)):
        for size in (100, CORE_RECORD_BYTES):
            record = record_of(size)
            store.save("meter", record)
            n = 300
            start = time.ticks_us()
            for i in range(n):
                record["t"] = i
                store.save("meter", record)
            us = time.ticks_diff(time.ticks_us(), start) / n
            gc.collect()
            before = gc.mem_alloc()
            gc.disable()
            store.save("meter", record)
            heap = gc.mem_alloc() - before
            gc.enable()
            start = time.ticks_us()
            for i in range(n):
                store.load("meter")
            load_us = time.ticks_diff(time.ticks_us(), start) / n
            print("%-22s %5d B record: %7.0f us/save, %6d B heap/save, %6.0f us/load"
                  % (label, size, us, heap, load_us))
    gc.collect()
    print("heap free after all this: %d of %d bytes" % (gc.mem_free(), gc.mem_free() + gc.mem_alloc()))
    vfs.umount("/flash")


if sys.argv[-1] == "cost":
    cost_part()
else:
    wear_part()
