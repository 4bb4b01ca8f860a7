"""A field image: one flash file per meter model for an ESP32, so a production line
writes one file at 0x0 (``esptool write-flash 0x0 FILE``).

It is the MicroPython image the user supplies (MicroPython's ``firmware.bin``:
bootloader, partition table and application, flashed at 0x1000) merged by ``esptool
merge-bin`` with the ``vfs`` partition already formatted as LittleFS v2 (as MicroPython's
``vfs.VfsLfs2`` formats it on first boot) holding the model's Prepay bundle and
configuration (``prepay provision bundle``: no decoder key, no meter identity; each meter
gets those at provisioning), and ``prepay_keys`` erased, so a board that held a key
before holds none. Where the image's partition table has a ``romfs`` partition
(the ROMFS variant), the bundle's ``lib/`` goes there as a ROMFS image and LittleFS holds
``boot.py``, ``main.py`` and ``meter.json``.

The partition layout comes from the board's partition table
(``boards/esp32/micropython-board/partitions-prepay*.csv``); the table inside the supplied
image must agree with it, or the image is refused: a stock MicroPython build has no
``prepay_keys`` partition, and the meter refuses to start without it.

The result is checked before it is kept: ``esptool image-info`` reads the bootloader and
the application at their offsets, and the filesystem is mounted back from the merged
file and compared file by file with the bundle.
"""
import contextlib
import csv
import hashlib
import io
import os
import struct
import tempfile

from host.errors import UserError
from host.provisioning.bundle import CONFIG_NAME, REPO_ROOT, build_bundle

BOARD_DIR = os.path.join(REPO_ROOT, "boards", "esp32", "micropython-board")
PARTITION_TABLES = {"frozen": "partitions-prepay.csv", "romfs": "partitions-prepay-romfs.csv"}
IMAGE_OFFSET = 0x1000           # where MicroPython's firmware.bin goes on an ESP32
TABLE_OFFSET = 0x8000           # the partition table, inside firmware.bin at 0x7000
APP_OFFSET = 0x10000
ESP_IMAGE_MAGIC = 0xE9
ENTRY = struct.Struct("<2sBBII16sI")   # magic AA50, type, subtype, offset, size, label, flags
ENTRY_MAGIC = b"\xaa\x50"
MD5_MAGIC = b"\xeb\xeb"
BLOCK_SIZE = 4096               # the ESP32's flash erase sector, VfsLfs2's block
ROMFS_SUBTYPE = 0x8F
# vfs.VfsLfs2's defaults (extmod/vfs_lfs.c): readsize 32, progsize 32, lookahead 32
LFS_OPTIONS = {"read_size": 32, "prog_size": 32, "lookahead_size": 32, "name_max": 255}


class ImageError(UserError):
    """The field image cannot be built from what was given."""


# ------------------------------------------------------------------ partition tables
def read_csv_table(path):
    """The board's partition table: {name: (type, subtype, offset, size)} of numbers."""
    types = {"app": 0x00, "data": 0x01}
    subtypes = {"factory": 0x00, "nvs": 0x02, "phy": 0x01, "fat": 0x81}
    table = {}
    with open(path, encoding="utf-8") as f:
        rows = [r for r in csv.reader(line for line in f if not line.lstrip().startswith("#"))
                if r and r[0].strip()]
    for row in rows:
        name, kind, sub, offset, size = (x.strip() for x in row[:5])
        table[name] = (types[kind], subtypes.get(sub) if sub in subtypes else int(sub, 0),
                       int(offset, 0), int(size, 0))
    return table


def read_image_table(image):
    """The partition table inside a MicroPython firmware.bin (flashed at 0x1000)."""
    start = TABLE_OFFSET - IMAGE_OFFSET
    table, pos = {}, start
    while pos + ENTRY.size <= len(image):
        chunk = image[pos:pos + ENTRY.size]
        if chunk[:2] != ENTRY_MAGIC:
            if chunk[:2] == MD5_MAGIC and chunk[16:] != hashlib.md5(image[start:pos]).digest():
                raise ImageError("the partition table in the MicroPython image fails its "
                                 "MD5 check: the image is damaged")
            break
        _, kind, sub, offset, size, label, _ = ENTRY.unpack(chunk)
        table[label.rstrip(b"\0").decode("ascii", "replace")] = (kind, sub, offset, size)
        pos += ENTRY.size
    return table


def check_micropython_image(image, board_table, path):
    if len(image) < APP_OFFSET - IMAGE_OFFSET + 1 or image[0] != ESP_IMAGE_MAGIC \
            or image[APP_OFFSET - IMAGE_OFFSET] != ESP_IMAGE_MAGIC:
        raise ImageError("%s is not an ESP32 MicroPython firmware.bin (bootloader at its "
                         "start, application at 0x%x)" % (path, APP_OFFSET - IMAGE_OFFSET))
    found = read_image_table(image)
    if not found:
        raise ImageError("%s has no partition table at 0x%x" % (path, TABLE_OFFSET))
    for name in ("vfs", "prepay_keys") + (("romfs",) if "romfs" in board_table else ()):
        if found.get(name) != board_table[name]:
            raise ImageError(
                "the partition table in %s does not match %s: %s is %s, the board needs %s; "
                "build MicroPython with boards/esp32/micropython-board"
                % (path, os.path.relpath(board_table["_path"], REPO_ROOT), name,
                   describe(found.get(name)), describe(board_table[name])))
    if len(image) > found["factory"][3] + APP_OFFSET - IMAGE_OFFSET:
        raise ImageError("%s is larger than its factory partition" % path)


def describe(entry):
    return "missing" if entry is None else "0x%x bytes at 0x%x" % (entry[3], entry[2])


# ------------------------------------------------------------------ filesystems
def littlefs_image(files, size):
    """A LittleFS v2 image of ``size`` bytes holding ``files`` ({path: bytes})."""
    from littlefs import LittleFS
    fs = LittleFS(block_size=BLOCK_SIZE, block_count=size // BLOCK_SIZE, **LFS_OPTIONS)
    for path, data in sorted(files.items()):
        folder = os.path.dirname(path)
        if folder:
            fs.makedirs(folder, exist_ok=True)
        with fs.open(path, "wb") as f:
            f.write(data)
    return bytes(fs.context.buffer)


def read_littlefs(data):
    """{path: bytes} of every file in a LittleFS image."""
    from littlefs import LittleFS, LittleFSError
    try:
        fs = LittleFS(block_size=BLOCK_SIZE, block_count=len(data) // BLOCK_SIZE,
                      mount=False, **LFS_OPTIONS)
        fs.context.buffer[:] = data
        fs.mount()
    except LittleFSError as exc:
        raise ImageError("the filesystem does not mount back: %s" % exc)
    found = {}
    for root, _, names in fs.walk("/"):
        for name in names:
            path = (root.rstrip("/") + "/" + name).lstrip("/")
            with fs.open(path, "rb") as f:
                found[path] = f.read()
    return found


def romfs_image(lib_dir, size):
    try:
        from mpremote.romfs import make_romfs
    except ImportError:
        raise ImageError("mpremote is missing (it builds the ROMFS image): pip install mpremote")
    with contextlib.redirect_stdout(io.StringIO()):
        data = make_romfs(lib_dir, mpy_cross=False)
    if len(data) > size:
        raise ImageError("the bundle's lib/ is %d bytes as ROMFS; the romfs partition holds "
                         "%d" % (len(data), size))
    return data


def bundle_files(bundle_dir):
    found = {}
    for root, _, names in os.walk(bundle_dir):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, bundle_dir).replace(os.sep, "/")] = f.read()
    return found


# ------------------------------------------------------------------ the image
def build_image(micropython_image, config_path, out_path, layout="frozen"):
    """Build the field image at ``out_path``; return its report (a dict)."""
    import esptool.cmds
    table = read_csv_table(os.path.join(BOARD_DIR, PARTITION_TABLES[layout]))
    table["_path"] = os.path.join(BOARD_DIR, PARTITION_TABLES[layout])
    try:
        with open(micropython_image, "rb") as f:
            image = f.read()
    except OSError as exc:
        raise ImageError("cannot read the MicroPython image: %s" % exc.strerror)
    check_micropython_image(image, table, micropython_image)
    vfs = table["vfs"]
    with tempfile.TemporaryDirectory(prefix="prepay-image-") as work:
        report = build_bundle("esp32", config_path, work)
        files = bundle_files(report["bundle_dir"])
        parts = [(IMAGE_OFFSET, image)]
        if layout == "romfs":
            romfs = table["romfs"]
            parts.append((romfs[2], romfs_image(os.path.join(report["bundle_dir"], "lib"),
                                                romfs[3])))
            files = {p: d for p, d in files.items() if not p.startswith("lib/")}
        fs_image = littlefs_image(files, vfs[3])
        parts.append((vfs[2], fs_image))
        keys = table["prepay_keys"]     # erased: a reused board keeps no earlier key
        parts.append((keys[2], b"\xff" * keys[3]))
        tmp = out_path + ".tmp"
        with contextlib.redirect_stdout(io.StringIO()):
            esptool.cmds.merge_bin(parts, "esp32", output=tmp)
        checked = check_image(tmp, files, table)
        os.replace(tmp, out_path)
    with open(out_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"image": out_path, "bytes": os.path.getsize(out_path), "sha256": digest,
            "layout": layout, "micropython_image": micropython_image,
            "micropython_bytes": len(image), "config": report["config"],
            "secrets_left_out": report["secrets_left_out"],
            "filesystem": {"offset": vfs[2], "bytes": vfs[3], "block_size": BLOCK_SIZE,
                           "block_count": vfs[3] // BLOCK_SIZE, "files": len(files),
                           "file_bytes": sum(len(d) for d in files.values())},
            "checked": checked}


def check_image(path, files, table):
    """``esptool image-info`` on the bootloader and the application, and the filesystem
    read back from the merged file equal to ``files``; the names of the checks done."""
    import esptool.cmds
    with open(path, "rb") as f:
        merged = f.read()
    for name, offset in (("bootloader", IMAGE_OFFSET), ("application", APP_OFFSET)):
        end = table["factory"][2] + table["factory"][3] if name == "application" else \
            TABLE_OFFSET
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                esptool.cmds.image_info(merged[offset:end].rstrip(b"\xff"), chip="esp32")
        except Exception as exc:      # esptool raises its own FatalError and others
            raise ImageError("esptool image-info refuses the %s at 0x%x: %s"
                             % (name, offset, exc))
        if "Checksum" not in out.getvalue() or "invalid" in out.getvalue().lower():
            raise ImageError("esptool image-info finds the %s at 0x%x invalid:\n%s"
                             % (name, offset, out.getvalue().strip()))
    vfs = table["vfs"]
    back = read_littlefs(merged[vfs[2]:vfs[2] + vfs[3]].ljust(vfs[3], b"\xff"))
    if back != files:
        raise ImageError("the filesystem read back differs from the bundle: %s" % ", ".join(
            sorted(set(back) ^ set(files)) or
            sorted(p for p in files if back.get(p) != files[p])))
    return ["esptool image-info bootloader", "esptool image-info application",
            "littlefs read back (%d files)" % len(back)]


def summary(report):
    fs = report["filesystem"]
    lines = ["field image %s: %d bytes, sha256 %s" % (report["image"], report["bytes"],
                                                     report["sha256"]),
             "  write it with: esptool --chip esp32 --port /dev/ttyUSB0 write-flash 0x0 %s"
             % report["image"],
             "  MicroPython image %s (%d bytes) at 0x%x" % (report["micropython_image"],
                                                             report["micropython_bytes"],
                                                             IMAGE_OFFSET),
             "  LittleFS at 0x%x: %d blocks of %d bytes, %d files (%d bytes)"
             % (fs["offset"], fs["block_count"], fs["block_size"], fs["files"],
                fs["file_bytes"]),
             "  checked: " + ", ".join(report["checked"])]
    if report["config"] is None:
        lines.append("  no meter configuration given: the image has no " + CONFIG_NAME)
    if report["secrets_left_out"]:
        lines.append("  left out of %s (secret): %s; each meter gets its key at provisioning"
                     % (CONFIG_NAME, ", ".join(report["secrets_left_out"])))
    return "\n".join(lines)

