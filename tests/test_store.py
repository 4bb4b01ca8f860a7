"""The power-cut-safe store and the simulated flash, one behaviour at a time.

Runs in both runtimes. The Store tests here use the interpreter's own
filesystem (the host disk through CPython or VfsPosix); the LittleFS power-cut
sweeps are in test_store_faults.py.
"""
import gc
import os

from boards.sim.blockdev import RamFlash, FileFlash
from dualrt import IS_MICROPYTHON, TESTS_DIR, raises, tmp_dir
from meter.store import MemoryStore, Store, decode_slot, encode_slot

DUAL_RUNTIME = True

CREDIT = {"bought_milli": 120000, "remaining_milli": 80500, "tids": [7, 9], "note": "ok"}


def slot_bytes(root, name, suffix):
    with open(root + "/" + name + suffix, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def test_memory_store_returns_a_copy_of_what_was_saved():
    store = MemoryStore()
    assert store.load("credit") is None
    record = dict(CREDIT)
    store.save("credit", record)
    record["remaining_milli"] = 0
    assert store.load("credit") == CREDIT
    assert store.writes == 1


def test_store_round_trip_and_reopen():
    root = tmp_dir("store-roundtrip")
    store = Store(root)
    assert store.load("credit") is None
    store.save("credit", CREDIT)
    store.save("consumption", {"energy_wh": 10})
    assert store.load("credit") == CREDIT
    again = Store(root)
    assert again.load("credit") == CREDIT
    assert again.load("consumption") == {"energy_wh": 10}
    assert store.writes == 2 and store.bytes_written > 0


def test_saves_alternate_between_two_slots():
    root = tmp_dir("store-slots")
    store = Store(root)
    for energy_wh in (10, 20, 30):
        store.save("consumption", {"energy_wh": energy_wh})
    assert sorted(os.listdir(root)) == ["consumption.a", "consumption.b"]
    assert decode_slot("consumption", slot_bytes(root, "consumption", ".a")) == (3, {"energy_wh": 30})
    assert decode_slot("consumption", slot_bytes(root, "consumption", ".b")) == (2, {"energy_wh": 20})
    # a store opened later carries on from the newest slot
    later = Store(root)
    later.save("consumption", {"energy_wh": 40})
    assert decode_slot("consumption", slot_bytes(root, "consumption", ".b")) == (4, {"energy_wh": 40})
    assert Store(root).load("consumption") == {"energy_wh": 40}


def test_torn_newest_slot_falls_back_to_the_previous_version():
    root = tmp_dir("store-torn")
    store = Store(root)
    store.save("credit", {"remaining_milli": 1})
    store.save("credit", {"remaining_milli": 2})  # newest, slot .b
    whole = slot_bytes(root, "credit", ".b")
    for cut in (0, 5, 9, 12, len(whole) - 1):
        write_bytes(root + "/credit.b", whole[:cut])
        fresh = Store(root)
        assert fresh.load("credit") == {"remaining_milli": 1}
        assert fresh.rejected == 1
    # the next save overwrites the torn slot, never the good one
    fresh.save("credit", {"remaining_milli": 3})
    assert Store(root).load("credit") == {"remaining_milli": 3}
    assert decode_slot("credit", slot_bytes(root, "credit", ".a")) == (1, {"remaining_milli": 1})


def test_flipped_bit_fails_the_crc():
    data = bytearray(encode_slot("credit", 5, '{"remaining_milli":100}'))
    assert decode_slot("credit", bytes(data)) == (5, {"remaining_milli": 100})
    for i in range(len(data) - 1):
        flipped = bytearray(data)
        flipped[i] ^= 0x04
        assert decode_slot("credit", bytes(flipped)) is None
    # the name is covered too: a slot copied under another name is refused
    assert decode_slot("tariff", bytes(data)) is None


def test_record_names_must_be_plain_file_names():
    store = MemoryStore()
    for bad in ("", "a/b", "Credit", "x.y", "n" * 33):
        raises(ValueError, store.save, bad, {})
    raises(ValueError, Store(tmp_dir("store-names")).load, "../etc")


def nested_scratch():
    """A scratch directory whose sub-directories tmp_dir() never sees."""
    tmp_dir("store-nested")
    path = TESTS_DIR + "/.tmp/store-nested-tree-" + ("mpy" if IS_MICROPYTHON else "cpy")
    try:
        os.mkdir(path)
    except OSError:
        pass
    return path


def remove_tree(path):
    for entry in os.listdir(path):
        try:
            os.remove(path + "/" + entry)
        except OSError:  # a directory
            remove_tree(path + "/" + entry)
            os.rmdir(path + "/" + entry)


def test_store_creates_nested_root():
    base = nested_scratch() + "/state"
    try:
        remove_tree(base)  # left by an earlier run; tmp_dir removes plain files only
        os.rmdir(base)
    except OSError:
        pass
    store = Store(base + "/meter")
    store.save("tariff", {"price_milli_per_kwh": 1500})
    assert Store(base + "/meter").load("tariff") == {"price_milli_per_kwh": 1500}


def test_a_save_allocates_little_heap():
    root = tmp_dir("store-heap")
    store = Store(root)
    store.save("credit", CREDIT)
    if IS_MICROPYTHON:
        gc.collect()
        before = gc.mem_alloc()
        gc.disable()
        store.save("credit", CREDIT)
        used = gc.mem_alloc() - before
        gc.enable()
    else:
        import tracemalloc
        tracemalloc.start()
        store.save("credit", CREDIT)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    budget = 4096 if IS_MICROPYTHON else 16384  # CPython adds its 8 KiB file buffer
    assert 0 < used < budget, used


def test_ram_flash_has_nor_semantics_and_counts_writes():
    dev = RamFlash(512, 4)
    assert dev.ioctl(4, 0) == 4 and dev.ioctl(5, 0) == 512
    assert dev.writeblocks(1, bytearray(b"\x0f\xf0"), 10) == 0
    assert dev.writeblocks(1, bytearray(b"\xf3\x3f"), 10) == 0  # AND, not overwrite
    buf = bytearray(3)
    dev.readblocks(1, buf, 10)
    assert buf == bytearray(b"\x03\x30\xff")
    assert dev.ioctl(6, 1) == 0
    dev.readblocks(1, buf, 10)
    assert buf == bytearray(b"\xff\xff\xff")
    assert (dev.programs, dev.erases, dev.writes) == (2, 1, 3)


def test_power_cut_refuses_every_write_after_the_nth():
    dev = RamFlash(512, 4)
    dev.cut_after(2)
    assert dev.writeblocks(0, bytearray(b"\x00"), 0) == 0
    assert dev.ioctl(6, 3) == 0
    assert dev.writeblocks(0, bytearray(b"\x00"), 1) == -5
    assert dev.ioctl(6, 0) == -5
    assert dev.writeblocks(2, bytearray(b"\x00"), 0) == -5
    image = dev.image()
    assert image[0] == 0 and image[1] == 0xFF and not dev.powered
    assert dev.writes == 2
    revived = RamFlash(512, 4, image=image)
    assert revived.writeblocks(0, bytearray(b"\x00"), 1) == 0


def test_torn_write_lands_half_way():
    dev = RamFlash(512, 4)
    dev.cut_after(0, torn=True)
    assert dev.writeblocks(0, bytearray(4), 0) == -5
    assert dev.image()[:5] == b"\x00\x00\xff\xff\xff"
    dev = RamFlash(512, 4, image=b"\x00" * 2048)
    dev.cut_after(0, torn=True)
    assert dev.ioctl(6, 1) == -5
    image = dev.image()
    assert image[512:768] == b"\xff" * 256 and image[768:1024] == b"\x00" * 256


def test_file_flash_persists_and_cuts():
    path = tmp_dir("store-fileflash") + "/flash.img"
    dev = FileFlash(path, 512, 4)
    assert dev.writeblocks(2, bytearray(b"\x12\x34"), 7) == 0
    dev.cut_after(1)
    assert dev.ioctl(6, 3) == 0
    assert dev.writeblocks(2, bytearray(b"\x00"), 0) == -5
    dev.close()
    again = FileFlash(path, 512, 4)
    buf = bytearray(2)
    again.readblocks(2, buf, 7)
    assert buf == bytearray(b"\x12\x34")
    assert again.image()[1024] == 0xFF and again.writes == 0
    again.close()
    raises(ValueError, FileFlash, path, 512, 8)


def test_a_save_through_the_reused_buffer_writes_what_streaming_writes():
    """The second save of a record formats it in the buffer allocated at start-up, the
    first streams it, and so does one last saved over 1.5 KB: every path writes the same
    slot bytes, whatever the size (pieces of 256 bytes, a record that shrinks or grows
    past the buffer, the history that writes its own JSON)."""
    from meter.history import DAILY, MONTHLY, Record, Rows
    from meter.store import encode_record
    root = tmp_dir("store-buffer")
    store = Store(root)
    sizes = (10, 200, 240, 241, 497, 1200, 1480, 3000, 1400, 100, 2100, 5)
    for seq, n in enumerate(sizes + sizes, 1):
        record = {"pad": "x" * n, "seq": seq}
        store.save("meter", record)
        slot = ".a" if seq % 2 else ".b"
        assert slot_bytes(root, "meter", slot) == encode_slot("meter", seq,
                                                              encode_record(record))
    assert Store(root).load("meter") == {"pad": "x" * 5, "seq": len(sizes) * 2}
    daily = Rows(3, DAILY, [[1, 2, 3], [4, 2 ** 40, -6]])
    monthly = Rows(2, MONTHLY, [])
    for seq in (1, 2):
        store.save("history", Record(daily, monthly))
        expected = {"daily": [[1, 2, 3], [4, 2 ** 40, -6]], "monthly": []}
        assert Store(root).load("history") == expected
        assert slot_bytes(root, "history", ".a" if seq == 1 else ".b") == encode_slot(
            "history", seq, '{"daily":[[1,2,3],[4,1099511627776,-6]],"monthly":[]}')
