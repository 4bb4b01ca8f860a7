"""Power cuts during saves: LittleFS on simulated NOR flash, cut after the N-th
block write, for every N through a run of top-ups, consumption, standing
charges and tariff changes.

Under MicroPython the filesystem is ``vfs.VfsLfs2`` (the meter's own);
under CPython it is littlefs-python over the same block device, so the sweep
runs in both runtimes. After each cut a fresh device is mounted on the
surviving image and we check that

* every record loads as the version whose save returned, or (for the one
  save in flight) the previous version: never garbage, never a mix;
* the ledger holds: bought = remaining + consumed + charges within one step,
  and bought is exactly the sum of the top-ups whose save returned (none
  applied twice, none lost);
* the meter boots: the recovered store takes a new top-up and keeps it.

The run is split into boot segments (a reboot every SEGMENT_STEPS steps): a
cut point N replays its segment from the image at the segment's start, which
is byte-for-byte the run a meter would make, at a fraction of the cost.
"""
from boards.sim.blockdev import FileFlash, RamFlash
from dualrt import IS_MICROPYTHON, raises, tmp_dir
from json import loads

from meter.store import Store, encode_record

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "512K"  # the simulated flash images (3 x 64 KiB) are test fixtures

BLOCK_SIZE = 4096
BLOCK_COUNT = 16
MOUNT_POINT = "/flash"
STATE_DIR = "/flash/state"
SEGMENT_STEPS = 20
QUANTUM_WH = 10
RECORD_NAMES = ("credit", "consumption", "tariff")


# --- LittleFS on a block device, in either runtime ---------------------------

class LfsPythonFiles:
    """littlefs-python behind the ``open``/``mkdir`` a Store needs (CPython)."""

    def __init__(self, dev):
        from littlefs import LittleFS
        self.fs = LittleFS(context=LfsPythonContext(dev), mount=False,
                           block_size=dev.block_size, block_count=dev.block_count,
                           read_size=32, prog_size=32, cache_size=128,
                           lookahead_size=32, block_cycles=100)  # as VfsLfs2 sets them

    def open(self, path, mode):
        from littlefs import LittleFSError
        try:
            return LfsPythonFile(self.fs.open(path, mode, buffering=0))
        except LittleFSError as exc:
            raise OSError(-exc.code, exc.name)

    def mkdir(self, path):
        from littlefs import LittleFSError
        try:
            self.fs.mkdir(path)
        except LittleFSError as exc:
            raise OSError(-exc.code, exc.name)


class LfsPythonFile:
    """A littlefs-python file whose failed close still counts as closed
    (lfs_file_close frees the file even when its commit fails; closing it a
    second time from the finaliser would abort the process)."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self, n=-1):
        return self.handle.readall() if n < 0 else self.handle.read(n)

    def readinto(self, buf):
        return self.handle.readinto(buf)

    def seek(self, offset, whence=0):
        from littlefs import LittleFSError
        try:
            return self.handle.seek(offset, whence)
        except LittleFSError as exc:         # a seek writes out what is cached
            raise OSError(-exc.code, exc.name)

    def write(self, data):
        from littlefs import LittleFSError
        try:
            return self.handle.write(data)
        except LittleFSError as exc:
            raise OSError(-exc.code, exc.name)

    def close(self):
        from littlefs import LittleFSError
        try:
            self.handle.close()
        except LittleFSError as exc:
            setattr(self.handle, "__IOBase_closed", True)
            raise OSError(-exc.code, exc.name)


class LfsPythonContext:
    """The MicroPython block protocol seen through littlefs-python's callbacks."""

    def __init__(self, dev):
        self.dev = dev

    def read(self, cfg, block, off, size):
        buf = bytearray(size)
        self.dev.readblocks(block, buf, off)
        return buf

    def prog(self, cfg, block, off, data):
        return self.dev.writeblocks(block, data, off)

    def erase(self, cfg, block):
        return self.dev.ioctl(6, block)

    def sync(self, cfg):
        return 0


def mkfs(dev):
    if IS_MICROPYTHON:
        import vfs
        vfs.VfsLfs2.mkfs(dev)
    else:
        LfsPythonFiles(dev).fs.format()


class Mounted:
    """LittleFS mounted on dev; ``store(root)`` opens a Store on it."""

    def __init__(self, dev):
        if IS_MICROPYTHON:
            import vfs
            vfs.mount(vfs.VfsLfs2(dev), MOUNT_POINT)
            self.files = None
        else:
            self.files = LfsPythonFiles(dev)
            self.files.fs.mount()

    def store(self, root=STATE_DIR):
        return Store(root, self.files)

    def unmount(self):
        if IS_MICROPYTHON:
            import vfs
            vfs.umount(MOUNT_POINT)
        else:
            self.files.fs.unmount()


# --- what the saves must preserve ---------------------------------------------

def copy_record(record):
    return None if record is None else loads(encode_record(record))


class Recorder:
    """Wraps a store; remembers the last version of each record whose save
    returned, and the one save in flight when the power went."""

    def __init__(self, store):
        self.store = store
        self.committed = {}
        self.in_flight = None

    def load(self, name):
        record = self.store.load(name)
        self.committed[name] = copy_record(record)
        return record

    def save(self, name, record):
        self.in_flight = (name, copy_record(record))
        self.store.save(name, record)
        self.committed[name] = self.in_flight[1]
        self.in_flight = None


class Ledger:
    """Credit, consumption and tariff records the way a meter keeps them:
    every change is saved before it counts, and the token's TID is saved in
    the same record as the credit it adds (so a retried token is refused
    exactly when its credit landed)."""

    def __init__(self, store):
        self.store = store
        self.credit = store.load("credit") or {
            "bought_milli": 0, "remaining_milli": 0, "topups": 0, "tids": []}
        self.usage = store.load("consumption") or {
            "energy_wh": 0, "consumed_milli": 0, "charges_milli": 0}
        self.tariff = store.load("tariff") or {"version": 0, "price_milli_per_kwh": 1500}

    def top_up(self, amount_milli, tid):
        if tid in self.credit["tids"]:
            return False  # token already used
        credit = dict(self.credit)
        credit["bought_milli"] += amount_milli
        credit["remaining_milli"] += amount_milli
        credit["topups"] += 1
        credit["tids"] = (credit["tids"] + [tid])[-4:]
        self.store.save("credit", credit)
        self.credit = credit
        return True

    def _deduct(self, field, amount_milli, energy_wh):
        usage = dict(self.usage)
        usage[field] += amount_milli
        usage["energy_wh"] += energy_wh
        self.store.save("consumption", usage)
        self.usage = usage
        credit = dict(self.credit)
        credit["remaining_milli"] -= amount_milli
        self.store.save("credit", credit)
        self.credit = credit

    def consume(self, energy_wh):
        cost_milli = energy_wh * self.tariff["price_milli_per_kwh"] // 1000
        self._deduct("consumed_milli", cost_milli, energy_wh)

    def standing_charge(self, amount_milli):
        self._deduct("charges_milli", amount_milli, 0)

    def change_tariff(self, price_milli_per_kwh):
        tariff = {"version": self.tariff["version"] + 1, "price_milli_per_kwh": price_milli_per_kwh}
        self.store.save("tariff", tariff)
        self.tariff = tariff

    def apply(self, step):
        kind, value = step[0], step[1]
        if kind == "topup":
            self.top_up(value, step[2])
        elif kind == "consume":
            self.consume(value)
        elif kind == "charge":
            self.standing_charge(value)
        else:
            self.change_tariff(value)


def scenario(n_steps, seed=12345):
    """A repeatable mix: mostly consumption quanta, some top-ups, standing
    charges and tariff changes."""
    steps = []
    x = seed
    for i in range(n_steps):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        kind = (x >> 16) % 16
        if kind < 2:
            steps.append(("topup", 5000 + (x >> 4) % 4096 * 10, 1000 + i))
        elif kind == 2:
            steps.append(("charge", 250 + (x >> 8) % 100))
        elif kind == 3:
            steps.append(("tariff", 900 + (x >> 8) % 2000))
        else:
            steps.append(("consume", QUANTUM_WH))
    return steps


MAX_STEP_MILLI = 350  # the largest single deduction above (charge < 350, quantum <= 29)


def sum_top_ups(steps):
    return sum(step[1] for step in steps if step[0] == "topup")


# --- the sweep ----------------------------------------------------------------

def run_segment(dev, steps):
    """Boot on dev and run steps until done or the power goes.
    Returns (recorder, number of steps completed)."""
    mounted = Mounted(dev)
    recorder = Recorder(None)
    done = 0
    try:
        recorder.store = mounted.store()
        ledger = Ledger(recorder)
        for step in steps:
            ledger.apply(step)
            done += 1
    except OSError:
        pass
    mounted.unmount()
    return recorder, done


def check_survivor(dev, recorder, done_steps, cut_step, torn):
    """Check what survived the cut; dev is a fresh device on its image.

    done_steps: every step of the run that completed before the cut;
    cut_step: the step during which the power went."""
    mounted = Mounted(dev)
    store = mounted.store()
    # 1. each record is a version whose save returned, or the one in flight:
    # a clean cut never lands the save in flight; a torn last write may
    # complete the commit before the chip reports the failure
    landed = False
    for name in RECORD_NAMES:
        record = store.load(name)
        if record != recorder.committed.get(name):
            flight = recorder.in_flight
            assert torn and flight is not None and flight[0] == name and record == flight[1], (
                name, record, recorder.committed.get(name), flight)
            landed = True
    # a slot created by the save in flight may be there but empty (LittleFS
    # commits the new file's name at open, its contents at close): refused
    assert store.rejected <= 1
    # 2. the ledger balances: nothing bought is lost or counted twice
    ledger = Ledger(store)
    credit, usage = ledger.credit, ledger.usage
    bought_milli = sum_top_ups(done_steps)
    if landed and cut_step[0] == "topup":
        bought_milli += cut_step[1]
    assert credit["bought_milli"] == bought_milli, (credit, bought_milli)
    accounted = credit["remaining_milli"] + usage["consumed_milli"] + usage["charges_milli"]
    assert 0 <= accounted - credit["bought_milli"] <= MAX_STEP_MILLI, (credit, usage)
    # 3. the meter boots: the token in flight is retried (accepted exactly
    # when its credit did not land) and a new one sticks after a remount
    if cut_step[0] == "topup":
        assert ledger.top_up(cut_step[1], cut_step[2]) == (not landed)
        bought_milli += 0 if landed else cut_step[1]
    assert ledger.top_up(7000, 999999)
    mounted.unmount()
    mounted = Mounted(dev)
    assert mounted.store().load("credit")["bought_milli"] == bought_milli + 7000
    mounted.unmount()


def sweep(n_steps, first_cut=0):
    """Cut after every block write of a run of n_steps (from write first_cut
    on); returns (cut points checked, block writes in the run)."""
    steps = scenario(n_steps)
    dev = RamFlash(BLOCK_SIZE, BLOCK_COUNT)
    survivor = RamFlash(BLOCK_SIZE, BLOCK_COUNT)
    mkfs(dev)
    start = bytearray(dev.mem)  # images kept in place: 64 KiB blocks fragment a small heap
    end = bytearray(len(start))
    checked, run_writes = 0, 0
    for first in range(0, n_steps, SEGMENT_STEPS):
        segment = steps[first:first + SEGMENT_STEPS]
        dev.restore(start)
        dev.programs = dev.erases = 0
        recorder, done = run_segment(dev, segment)
        assert done == len(segment)
        records = recorder.committed
        writes = dev.writes
        end[:] = dev.mem
        for n in range(max(0, first_cut - run_writes), writes):
            dev.restore(start)
            dev.powered = True
            torn = n % 2 == 1
            dev.cut_after(n, torn)
            recorder, done = run_segment(dev, segment)
            assert done < len(segment), n
            survivor.restore(dev.mem)  # a fresh device on the image that survived
            check_survivor(survivor, recorder, steps[:first + done], segment[done], torn)
            checked += 1
        # the same segment without a cut ends the same: the replay is faithful
        # (byte for byte, except that VfsLfs2 stamps each file with the time)
        dev.restore(start)
        dev.powered = True
        dev.cut_after(-1)
        dev.programs = dev.erases = 0
        recorder, done = run_segment(dev, segment)
        assert recorder.committed == records and dev.writes == writes
        assert IS_MICROPYTHON or dev.mem == end
        end[:] = dev.mem
        run_writes += writes
        start, end = end, start
    return checked, run_writes


def test_a_program_ands_bits_into_the_flash_as_nor_does():
    """Programming only clears bits (0x3C then 0xF0 leaves 0x30); an erase sets 0xFF."""
    given = bytearray(b"\xff" * 1024)  # memory handed to the device, as the sim's mapped image
    for flash in (RamFlash(256, 4), RamFlash(256, 4, memory=given),
                  FileFlash(tmp_dir("nor_semantics") + "/f.img", 256, 4),
                  FileFlash(tmp_dir("nor_semantics") + "/p.img", 256, 4, piece=64)):
        flash.writeblocks(1, bytes([0x3C] * 256))
        flash.writeblocks(1, bytes([0xF0, 0xFF, 0x00]), 10)
        got = bytearray(16)
        flash.readblocks(1, got)
        assert list(got[8:14]) == [0x3C, 0x3C, 0x30, 0x3C, 0x00, 0x3C]
        flash.ioctl(6, 1)
        flash.readblocks(1, got)
        assert bytes(got) == b"\xff" * 16
        flash.writeblocks(2, b"\x00", 3)
    assert given[512:516] == b"\xff\xff\xff\x00"  # the device wrote into the memory given
    raises(ValueError, RamFlash, 256, 4, None, bytearray(1000))


def test_cut_after_every_block_write_keeps_records_whole_and_ledger_balanced():
    checked, writes = sweep(700)
    assert checked == writes
    assert checked >= 1000, checked


def test_a_fresh_filesystem_survives_a_cut_in_its_first_save():
    dev = RamFlash(BLOCK_SIZE, BLOCK_COUNT)
    mkfs(dev)
    start = dev.image()
    for n in range(8):
        dev.restore(start)
        dev.powered = True
        dev.cut_after(n)
        mounted = Mounted(dev)
        store = mounted.store()
        try:
            store.save("credit", {"bought_milli": 1})
            saved = True
        except OSError:
            saved = False
        mounted.unmount()
        again = Mounted(RamFlash(BLOCK_SIZE, BLOCK_COUNT, image=dev.image()))
        got = again.store().load("credit")
        again.unmount()
        assert got == ({"bought_milli": 1} if saved else None), (n, got)
