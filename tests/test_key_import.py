"""The secrets' first boot (app_keys.take) in both runtimes: the decoder key and the
optical port's passwords from meter.json into the key partition, out of the file, and on
copy-on-write flash out of the free blocks too.

meter.json on the host's disk (the simulator's case), and on LittleFS beside the key
partition on one simulated chip (the ESP32's case: ``vfs.VfsLfs2`` under MicroPython,
littlefs-python under CPython), with the power cut after every block write of the import.
"""
import json
import os

import app_keys
from app_config import split
from boards.sim.blockdev import RamFlash
from boards.sim.partition import Partition
from dualrt import IS_MICROPYTHON, raises, tmp_dir
from meter.acceptance import new_key_record
from meter.errors import ConfigError
from meter.keystore import KeyStore, MemoryKeyStore
from test_keystore import holds, valid_versions
from test_store_faults import Mounted, mkfs

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "1M"     # the flash images are test fixtures

KEY = "87f3ecbb2e46b48f"
OTHER = "0123456789abcdef"
READER = "read-3141"
TECHNICIAN = "tech-2718"
FS_BLOCKS = 12
DIR = "/flash"
PATH = DIR + "/meter.json"


def config(key=KEY, serial="E-1", passwords=None):
    cfg = {"identity": {"serial": serial}, "utility": "electricity", "credit_mode": "unit",
           "sts": {"key": key, "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1, "sgc": 201457},
           "board": {"name": "sim"}, "supply": {"load_limit": {"limit_w": 5000}}}
    if passwords:
        cfg["ir"] = {"passwords": {"reader": passwords[0], "technician": passwords[1]}}
    return cfg


def text_in(image, text, end=None):
    return image.find(text.encode(), 0, len(image) if end is None else end) >= 0


def pretty(cfg):
    """meter.json as a person writes it (MicroPython's json has no indent)."""
    return json.dumps(cfg).replace(", ", ",\n  ").encode()


def take(keys, raw, path, scrub_dir=None):
    return app_keys.take(keys, split(raw)[1], raw, path, scrub_dir)


def read(path):
    with getattr(app_keys, "open", open)(path, "rb") as f:   # littlefs-python's, if set
        return f.read()


def write(path, data):
    with getattr(app_keys, "open", open)(path, "wb") as f:
        f.write(data)


# ------------------------------------------------------------- on the host's disk

def test_first_boot_moves_the_key_and_later_boots_write_nothing():
    path = tmp_dir("key_import") + "/meter.json"
    text = pretty(config())
    write(path, text)
    keys = MemoryKeyStore()
    assert take(keys, config(), path) == new_key_record(split(config())[1])
    after = read(path)
    assert len(after) == len(text) and not holds(after, KEY)       # overwritten in place
    cfg = json.loads(after)
    assert cfg["sts"]["key"] is None and cfg["sts"]["krn"] == 1
    assert cfg["identity"] == config()["identity"]
    writes = keys.writes
    assert take(keys, cfg, path)["key"] == KEY                    # the next boot
    assert keys.writes == writes and read(path) == after


def test_a_key_in_the_file_is_ignored_once_the_meter_has_one():
    path = tmp_dir("key_ignored") + "/meter.json"
    keys = MemoryKeyStore()
    keys.save(dict(new_key_record(split(config(OTHER))[1]), krn=2, gen=1))
    write(path, json.dumps(config()).encode())
    assert take(keys, config(), path)["key"] == OTHER and keys.writes == 1
    assert not holds(read(path), KEY) and json.loads(read(path))["sts"]["key"] is None


def test_no_key_anywhere_is_refused_and_nothing_written():
    path = tmp_dir("key_none") + "/meter.json"
    write(path, json.dumps(config(None)).encode())
    keys = MemoryKeyStore()
    said = str(raises(ConfigError, take, keys, config(None), path))
    assert said.startswith("sts.key: this meter has no decoder key") and keys.writes == 0


def test_optical_passwords_move_too_and_a_new_delivery_overwrites_them():
    path = tmp_dir("key_passwords") + "/meter.json"
    raw = config(passwords=(READER, TECHNICIAN))
    write(path, pretty(raw))
    keys = KeyStore(RamFlash(4096, 2))
    record = take(keys, raw, path)
    assert (record["ir_reader"], record["ir_technician"]) == (READER, TECHNICIAN)
    held = json.loads(read(path))
    assert held["ir"]["passwords"] == {"reader": None, "technician": None}
    assert not text_in(read(path), READER) and not text_in(read(path), TECHNICIAN)
    assert take(keys, held, path) == record                     # later boots: as held
    raw = config(passwords=("read-new1", TECHNICIAN))           # a technician's new one
    write(path, pretty(raw))
    assert take(keys, raw, path)["ir_reader"] == "read-new1"
    image = keys.dev.image()
    assert text_in(image, "read-new1") and not text_in(image, READER)   # overwritten
    assert json.loads(read(path))["ir"]["passwords"]["reader"] is None


def test_a_key_written_twice_is_rewritten_whole():
    path = tmp_dir("key_twice") + "/meter.json"
    raw = config(serial=KEY)                        # the same text in another field
    write(path, json.dumps(raw).encode())
    take(MemoryKeyStore(), raw, path)
    cfg = json.loads(read(path))
    assert cfg["sts"]["key"] is None and cfg["identity"]["serial"] == KEY
    assert sorted(os.listdir(path[:path.rindex("/")])) == ["meter.json"]


# ------------------------------------------------------------- on LittleFS

class LfsOs:
    """The ``os`` functions app_keys uses, on littlefs-python (CPython)."""

    def __init__(self, mounted):
        self.fs = mounted.files.fs

    def _call(self, fn, *args):
        from littlefs import LittleFSError
        try:
            return fn(*args)
        except LittleFSError as exc:
            raise OSError(-exc.code, exc.name)

    def remove(self, path):
        self._call(self.fs.remove, path)

    def rename(self, old, new):
        self._call(self.fs.rename, old, new)

    def statvfs(self, path):
        return (self.fs.cfg.block_size,)

    def listdir(self, path):
        return self.fs.listdir(path)


def on_flash(chip):
    """LittleFS on the chip's first FS_BLOCKS mounted, app_keys pointed at it."""
    mounted = Mounted(Partition(chip, 0, FS_BLOCKS))
    if not IS_MICROPYTHON:
        app_keys.open = mounted.files.open
        app_keys.os = LfsOs(mounted)
    return mounted


def off_flash(mounted):
    mounted.unmount()
    if not IS_MICROPYTHON:
        del app_keys.open
        app_keys.os = os


def provisioned_chip(text):
    chip = RamFlash(4096, FS_BLOCKS + 2)
    mkfs(Partition(chip, 0, FS_BLOCKS))
    mounted = on_flash(chip)
    mounted.store("/flash/data").save("meter", {"credit": 0})     # the rest of the meter
    write(PATH, text)
    off_flash(mounted)
    return chip


def keys_of(chip):
    return KeyStore(Partition(chip, FS_BLOCKS, 2))


def check_done(chip, text):
    """After a complete import of meter.json ``text``: one key record, in its partition;
    no secret on LittleFS; the file valid, the rest of the meter untouched, no scrub file."""
    keys = keys_of(chip)
    raw = json.loads(text)
    expected = new_key_record(split(raw)[1])
    if "ir" in raw:
        expected.update(ir_reader=READER, ir_technician=TECHNICIAN)
    assert keys.load() == expected
    assert valid_versions(keys.dev) == [keys.load()]
    image = chip.image()
    assert not holds(image, KEY, FS_BLOCKS * 4096)
    assert not text_in(image, READER, FS_BLOCKS * 4096)
    assert not text_in(image, TECHNICIAN, FS_BLOCKS * 4096)
    mounted = on_flash(chip)
    after = read(PATH)
    assert len(after) == len(text) and json.loads(after)["sts"]["key"] is None
    assert sorted(app_keys.os.listdir(DIR)) == ["data", "meter.json"]
    assert mounted.store("/flash/data").load("meter") == {"credit": 0}
    off_flash(mounted)


def read_on(chip):
    mounted = on_flash(chip)
    try:
        return read(PATH)
    finally:
        off_flash(mounted)


def import_on(chip, text):
    mounted = on_flash(chip)
    try:
        take(keys_of(chip), json.loads(text), PATH, DIR)
    finally:
        off_flash(mounted)


def test_on_littlefs_no_byte_of_the_key_is_left_outside_its_partition():
    for text in (pretty(config()),          # its own data block
                 json.dumps({"sts": {"key": KEY}}).encode()):      # inline in metadata
        chip = provisioned_chip(text)
        assert holds(chip.image(), KEY, FS_BLOCKS * 4096)
        import_on(chip, text)
        check_done(chip, text)


def test_a_cut_at_every_write_of_the_import_loses_no_key_and_leaves_one():
    text = pretty(config(passwords=(READER, TECHNICIAN)))
    start = provisioned_chip(text).image()
    cut, finished = 0, False
    while not finished:
        chip = RamFlash(4096, FS_BLOCKS + 2, image=start)
        chip.cut_after(cut, cut % 2 == 1)
        try:
            import_on(chip, text)
            finished = True
        except OSError:
            pass
        survivor = RamFlash(4096, FS_BLOCKS + 2, image=chip.image())
        in_file = json.loads(read_on(survivor))["sts"]["key"]   # the key in its partition
        assert in_file == KEY or keys_of(survivor).load()["key"] == KEY, cut     # or file
        import_on(survivor, read_on(survivor))                      # the next boot
        check_done(survivor, text)
        cut += 1
    assert cut > 100, cut       # the partition, the file, the churn and the fill
