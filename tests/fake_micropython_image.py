"""A small FAKE MicroPython ``firmware.bin`` for the field image's tests: a real ESP32
bootloader-format image (esptool's own image writer, a few bytes of segment data, valid
checksum and SHA-256), the board's partition table in ESP-IDF's binary format at 0x7000
(0x8000 on the chip) and a fake application at 0xF000 (0x10000). It is not MicroPython
and would not run; it has the structure esptool and ``prepay provision image`` check."""
import hashlib
import os
import struct

from esptool.bin_image import ESP32FirmwareImage, ImageSegment

from host.provisioning import image as field_image


def esp_image(entry, load_address, payload):
    img = ESP32FirmwareImage()
    img.entrypoint = entry
    img.append_sha256 = True
    segment = ImageSegment(load_address, payload)
    segment.name = ".fake"        # esptool's writer names the segments it saves
    img.segments.append(segment)
    return img.save(None)       # None: the bytes back, no file


def table_binary(table):
    entries = b""
    for name, (kind, sub, offset, size) in table.items():
        if name.startswith("_"):
            continue
        flags = 0
        entries += field_image.ENTRY.pack(field_image.ENTRY_MAGIC, kind, sub, offset, size,
                                          name.encode(), flags)
    md5 = field_image.MD5_MAGIC + b"\xff" * 14 + hashlib.md5(entries).digest()
    return entries + md5


def write(path, layout="frozen", table=None):
    """Write the fake image to ``path``; ``table`` overrides the board's table."""
    if table is None:
        table = field_image.read_csv_table(os.path.join(
            field_image.BOARD_DIR, field_image.PARTITION_TABLES[layout]))
    base = field_image.IMAGE_OFFSET
    out = bytearray(b"\xff" * (field_image.APP_OFFSET - base))
    boot = esp_image(0x40080400, 0x3FFF0000, b"fake bootloader " * 8)
    out[:len(boot)] = boot
    tb = table_binary(table)
    out[field_image.TABLE_OFFSET - base:field_image.TABLE_OFFSET - base + len(tb)] = tb
    out += esp_image(0x40080000, 0x3FFB0000, struct.pack("<I", 0x1234) * 64 +
                     b"fake MicroPython application " * 16)
    with open(path, "wb") as f:
        f.write(out)
    return bytes(out)
