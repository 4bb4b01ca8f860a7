"""``prepay provision image``: a field image from a FAKE MicroPython image
(tests/fake_micropython_image.py: ESP32 image structure, not MicroPython), checked with
esptool image-info and by mounting the LittleFS partition back from the merged file."""
import json
import os
import subprocess
import sys

import esptool.cmds
import pytest

import fake_micropython_image as fake
from host.provisioning import image as field_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "boards", "esp32", "examples", "electricity-unit.json")
KEY = "87f3ecbb2e46b48f"


def prepay(*args):
    return subprocess.run([sys.executable, "-m", "host.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_field_image_holds_micropython_and_the_bundle_and_reads_back(tmp_path, capsys):
    mp = str(tmp_path / "firmware.bin")
    original = fake.write(mp)
    out = str(tmp_path / "meter-model.bin")
    proc = prepay("provision", "image", "--firmware-image", mp, "--config", CONFIG,
                  "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    merged = open(out, "rb").read()
    assert report["bytes"] == len(merged)
    # MicroPython where esptool writes firmware.bin, the filesystem where the table says
    assert merged[:0x1000] == b"\xff" * 0x1000
    assert merged[0x1000:0x1000 + len(original)] == original
    fs = report["filesystem"]
    assert (fs["offset"], fs["block_size"], fs["block_count"]) == (0x200000, 4096, 510)
    files = field_image.read_littlefs(merged[0x200000:0x200000 + 510 * 4096])
    assert {"boot.py", "main.py", "meter.json", "lib/meter/core.mpy",
            "lib/boards/esp32/board.mpy"} <= set(files)
    config = json.loads(files["meter.json"])
    assert config["sts"].get("key") is None and KEY.encode() not in merged
    capsys.readouterr()
    esptool.cmds.image_info(merged[0x10000:].rstrip(b"\xff"), chip="esp32")
    assert "Checksum" in capsys.readouterr().out
    assert len(report["checked"]) == 3
    assert KEY not in proc.stdout + proc.stderr


def test_the_romfs_layout_puts_lib_in_the_romfs_partition(tmp_path):
    mp = str(tmp_path / "firmware.bin")
    fake.write(mp, layout="romfs")
    out = str(tmp_path / "romfs-model.bin")
    report = field_image.build_image(mp, CONFIG, out, layout="romfs")
    merged = open(out, "rb").read()
    files = field_image.read_littlefs(merged[0x200000:0x200000 + 510 * 4096])
    assert set(files) == {"boot.py", "main.py", "meter.json"}
    assert merged[0x1C0000:0x1C0003] == b"\xd2\xcd\x31"      # ROMFS's header
    assert report["layout"] == "romfs"


def test_a_stock_micropython_partition_table_is_refused_in_one_line(tmp_path):
    stock = {"nvs": (1, 2, 0x9000, 0x6000), "phy_init": (1, 1, 0xF000, 0x1000),
             "factory": (0, 0, 0x10000, 0x1F0000), "vfs": (1, 0x81, 0x200000, 0x200000)}
    mp = str(tmp_path / "stock.bin")
    fake.write(mp, table=stock)
    out = str(tmp_path / "x.bin")
    proc = prepay("provision", "image", "--firmware-image", mp, "--config", CONFIG, "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "does not match" in proc.stderr
    assert "vfs is 0x200000 bytes at 0x200000, the board needs 0x1fe000" in proc.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".tmp")


@pytest.mark.parametrize("damage", ["not an image", "bad table md5"])
def test_a_damaged_micropython_image_is_refused(tmp_path, damage):
    mp = str(tmp_path / "firmware.bin")
    data = bytearray(fake.write(mp))
    if damage == "not an image":
        data[0] = 0
    else:
        data[0x7000 + 32 * 5 + 20] ^= 1      # a byte of the table's MD5
    open(mp, "wb").write(bytes(data))
    with pytest.raises(field_image.ImageError):
        field_image.build_image(mp, CONFIG, str(tmp_path / "x.bin"))
    assert not os.path.exists(str(tmp_path / "x.bin"))
