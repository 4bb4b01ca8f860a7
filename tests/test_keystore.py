"""The key partition (meter.keystore) on simulated NOR flash, in both runtimes: a replaced
secret is erased, not just superseded, and a power cut at any block write leaves exactly
one valid version (the old one or the new one) and, once loaded, no other version's bytes."""
from boards.sim.blockdev import RamFlash
from boards.sim.partition import Partition
from dualrt import raises

from meter.keystore import AREA, KeyStore, MemoryKeyStore, decode_sector

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "400K"   # the flash images are test fixtures

OLD = "87f3ecbb2e46b48f"
NEW = "0123456789abcdef"


def record(key, gen=0):
    return {"key": key, "algorithm": "sta", "krn": 1 + gen, "kt": 2, "ti": 1, "ken": 255,
            "sgc": 201457, "gen": gen, "rollover": False}


def unhex(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def holds(image, key, end=None):
    """Whether the key's bytes are in the image (up to ``end``), as hex text (either case)
    or raw."""
    end = len(image) if end is None else end
    for form in (key.encode(), key.upper().encode(), unhex(key)):
        if image.find(form, 0, end) >= 0:
            return True
    return False


def valid_versions(dev):
    area = bytearray(AREA)
    found = []
    for sector in (0, 1):
        dev.readblocks(sector, area, 0)
        if decode_sector(area) is not None:
            found.append(decode_sector(area)[1])
    return found


def test_a_record_survives_a_reboot_and_a_replaced_one_is_erased():
    dev = RamFlash(4096, 2)
    keys = KeyStore(dev)
    assert keys.load() is None
    keys.save(record(OLD))
    assert KeyStore(dev).load() == record(OLD)
    assert holds(dev.image(), OLD)
    again = KeyStore(dev)
    again.load()
    again.save(record(NEW, 1))
    assert KeyStore(dev).load() == record(NEW, 1)
    assert not holds(dev.image(), OLD) and holds(dev.image(), NEW)
    assert valid_versions(dev) == [record(NEW, 1)]
    keys = KeyStore(dev)
    keys.save(record(OLD, 2))             # save without load first: it loads
    assert valid_versions(dev) == [record(OLD, 2)] and not holds(dev.image(), NEW)


def test_a_partition_of_a_bigger_chip_leaves_the_rest_alone():
    chip = RamFlash(4096, 8)
    chip.writeblocks(5, b"filesystem", 0)
    keys = KeyStore(Partition(chip, 6, 2))
    keys.save(record(OLD))
    keys.save(record(NEW, 1))
    image = chip.image()
    assert image[5 * 4096:5 * 4096 + 10] == b"filesystem"
    assert not holds(image, OLD) and image[:6 * 4096].count(b"\xff") == 6 * 4096 - 10


def test_every_cut_of_a_key_change_leaves_one_valid_key_and_no_other_bytes():
    base = RamFlash(4096, 2)
    KeyStore(base).save(record(OLD))
    start = base.image()
    cut, finished = 0, False
    while not finished:
        for torn in (False, True):
            dev = RamFlash(4096, 2, image=start)
            dev.cut_after(cut, torn)
            keys = KeyStore(dev)
            try:
                keys.load()
                keys.save(record(NEW, 1))
                finished = True
            except OSError:
                pass
            survivor = RamFlash(4096, 2, image=dev.image())
            got = KeyStore(survivor).load()
            assert got in (record(OLD), record(NEW, 1)), (cut, torn, got)
            assert got == record(NEW, 1) or not finished
            image = survivor.image()
            assert valid_versions(survivor) == [got]
            assert not holds(image, OLD if got["gen"] else NEW), (cut, torn)
        cut += 1
    assert cut == 4     # a cut at each of 3 writes (erase the free sector, program it,
                        # erase the old one), then a run the cut did not reach


def test_every_cut_of_the_first_save_leaves_the_key_or_an_erased_partition():
    for cut in range(3):
        for torn in (False, True):
            dev = RamFlash(4096, 2)
            dev.cut_after(cut, torn)
            try:
                KeyStore(dev).save(record(OLD))
            except OSError:
                pass
            survivor = RamFlash(4096, 2, image=dev.image())
            got = KeyStore(survivor).load()
            if got is None:
                assert survivor.image().count(b"\xff") == 2 * 4096, (cut, torn)
            else:
                assert got == record(OLD) and valid_versions(survivor) == [got]


def test_garbage_in_a_sector_is_erased_at_load():
    dev = RamFlash(4096, 2)
    keys = KeyStore(dev)
    keys.save(record(OLD))
    dev.writeblocks(1, b"00000000 7 {\"key\":\"" + NEW.encode() + b"\"", 0)   # torn
    assert KeyStore(dev).load() == record(OLD)
    assert not holds(dev.image(), NEW)


def test_sizes_are_checked():
    raises(ValueError, KeyStore, RamFlash(4096, 1))
    keys = KeyStore(RamFlash(4096, 2))
    assert "at most 512" in str(raises(ValueError, keys.save, {"key": "x" * 600}))
    assert keys.load() is None                      # nothing written


def test_memory_keystore_keeps_a_copy():
    keys = MemoryKeyStore()
    assert keys.load() is None
    rec = record(OLD)
    keys.save(rec)
    rec["key"] = NEW
    assert keys.load() == record(OLD) and keys.writes == 1
