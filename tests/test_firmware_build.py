"""The frozen firmware build (CPython): the manifest is the bundle's list (the cache key:
test_build_caches.py), a missing compiler is one line, and the built 32-bit port runs
the firmware from the image. The first build costs about a minute; later ones come
from the cache (``prepay firmware build``)."""
import json
import os
import re
import shutil
import subprocess
import sys

from host.firmware import build as firmware
from host.firmware.manifest import frozen_modules, manifest_text
from host.provisioning.bundle import REPO_ROOT, shipped


def prepay(*args, env=None):
    return subprocess.run([sys.executable, "-m", "host.cli"] + list(args), cwd=REPO_ROOT,
                          capture_output=True, text=True, env=env, timeout=900)


def test_the_manifest_freezes_what_the_bundle_ships_under_the_names_it_imports():
    for board in ("sim", "esp32"):
        entries, left_out = shipped(REPO_ROOT, board)
        frozen = {os.path.join(folder, name): name
                  for folder, names in frozen_modules(board) for name in names}
        assert sorted(os.path.relpath(p, REPO_ROOT) for p in frozen) == \
            sorted(source for source, _, _ in entries)
        for source, dest, _ in entries:
            name = frozen[os.path.join(REPO_ROOT, source)]
            assert dest in (name, "lib/" + name[:-3] + ".mpy")
        assert "tokens/keys.py" in left_out          # host only (cryptography)
        assert not any("micropython-board" in source for source, _, _ in entries)
    text = manifest_text("esp32", "esp32")
    assert 'include("$(PORT_DIR)/boards/manifest.py")' in text and "'main.py'" in text
    assert "'meter/core.py'" in text and "'boards/esp32/board.py'" in text


def test_a_missing_cross_compiler_is_one_line_naming_the_package(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "gcc"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    proc = prepay("firmware", "build", "--runtime", "frozen32",
                  env=dict(os.environ, PATH=str(bin_dir)))
    assert proc.returncode == 2
    assert proc.stderr == ("prepay firmware: error: i686-linux-gnu-gcc is missing: "
                           "apt-get install gcc-i686-linux-gnu\n")


def test_the_32_bit_build_runs_the_frozen_firmware():
    proc = prepay("firmware", "build", "--runtime", "frozen32", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["bits"] == 32 and report["frozen_modules"] == len(shipped(REPO_ROOT, "sim")[0])
    assert report["frozen_bytes"] > 50000
    again = prepay("firmware", "build", "--runtime", "frozen32", "--json")
    assert json.loads(again.stdout)["cached"] and again.stderr == ""
    # nothing on the path but the image: the firmware imports from it, at the ESP32's width
    out = subprocess.run(
        [report["binary"], "-c", "import sys, meter.core, tokens.sta, boards.sim.board\n"
         "print(sys.maxsize, meter.core.__file__)"],
        capture_output=True, text=True, env=dict(os.environ, MICROPYPATH=".frozen"),
        cwd="/")
    assert out.stdout.split() == ["2147483647", "meter/core.py"], out.stderr


def test_prepay_sim_offers_each_runtime():
    out = prepay("sim", "--help").stdout
    assert "--runtime {stock,frozen64,frozen32}" in out


MAPPED_FLASH = """
import sys
from boards.sim.blockdev import RamFlash
from boards.sim.board import mapped_flash
from boards.sim.partition import Partition
flash = RamFlash(4096, 4, memory=mapped_flash(sys.argv[1], 4 * 4096))
print(type(flash.readblocks).__name__, len(flash.mem))
flash.ioctl(6, 1)                       # erase block 1, then program a record into it
flash.writeblocks(1, b"record 1", 100)
got = bytearray(8)
flash.readblocks(1, got, 100)
part = Partition(flash, 1, 2)
again = bytearray(8)
part.readblocks(0, again, 100)
print(bytes(got).decode(), flash.writes, again == got)
for args in ((2, got, 0), (1, got, 4090), (-1, got, 0)):
    try:
        part.readblocks(*args)
    except ValueError as exc:
        print(exc)
sys.stdout.flush()
sys.stdin.readline()                    # waits here, mapped, for the power to go
"""


def test_the_frozen_builds_map_the_flash_image_and_a_killed_process_leaves_its_writes(
        tmp_path):
    """``simflash``: the image file mapped shared (created erased when missing), blocks
    read in machine code within the device's (or a partition's) bounds, and what was
    programmed is in the file when the process is killed (SIGKILL: no exit handler)."""
    binary = firmware.build("frozen32")["binary"]
    image = tmp_path / "flash.img"
    proc = subprocess.Popen([binary, "-c", MAPPED_FLASH, str(image)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd="/",
                            env=dict(os.environ, MICROPYPATH=".frozen"))
    lines = [proc.stdout.readline().strip() for _ in range(5)]
    proc.kill()
    proc.wait()
    assert lines == ["BlockReader 16384", "record 1 2 True"] + ["read outside the device"] * 3
    data = image.read_bytes()
    assert len(data) == 4 * 4096
    assert data[4096 + 100:4096 + 108] == b"record 1"
    assert data.count(b"\xff") == len(data) - 8


def test_the_esp32_board_frozen_at_32_bits_builds_against_the_fake_machine():
    """The build bench_esp32_board_heap.py measures: the esp32 bundle frozen into the
    32-bit port, both variants built on tests/fakes, the drivers from the image."""
    report = firmware.build("frozen32", board="esp32")
    assert report["board"] == "esp32"
    assert report["frozen_modules"] == len(shipped(REPO_ROOT, "esp32")[0])
    code = ("import sys\nsys.path.insert(0, %r)\nsys.modules.pop('machine', None)\n"
            "import machine, esp32\nfrom boards.esp32 import board\n"
            "for variant in ('electricity', 'water'):\n"
            "    machine.fake_reset()\n    esp32.fake_reset()\n"
            "    made = board.build_board({'variant': variant}, ticks_ms=machine.fake_ticks_ms)\n"
            "    print(made.supply.kind, board.__file__, sys.maxsize)\n"
            % os.path.join(REPO_ROOT, "tests", "fakes"))
    out = subprocess.run([report["binary"], "-c", code], capture_output=True, text=True,
                         cwd="/", env=dict(os.environ, MICROPYPATH=".frozen"))
    assert out.stdout.splitlines() == ["relay boards/esp32/board.py 2147483647",
                                       "valve boards/esp32/board.py 2147483647"], out.stderr


def test_the_port_build_folder_is_one_per_build_configuration(tmp_path, monkeypatch):
    """make reuses a build folder's objects by file times, so every input that changes
    what an object holds gives a folder of its own: the target, the compiler's version,
    the make options and the C modules (their folder and bytes); the frozen firmware
    does not (its content is rebuilt every time)."""
    module = tmp_path / "boards" / "sim" / firmware.C_MODULES / "simflash"
    module.mkdir(parents=True)
    (module / "simflash.c").write_text("/* one */\n")
    (module / "micropython.mk").write_text("SRC_USERMOD += simflash.c\n")

    def folder(runtime="frozen32"):
        return firmware._build_dir(runtime, str(tmp_path), "sim")

    first = folder()
    assert first.startswith("build-prepay-frozen32-") and folder() == first
    assert folder("frozen64") != first
    (tmp_path / "boards" / "sim" / "board.py").write_text("# frozen, not compiled\n")
    assert folder() == first
    (module / "simflash.c").write_text("/* two */\n")
    second = folder()
    assert second != first
    monkeypatch.setattr(firmware, "MAKE_OPTIONS", firmware.MAKE_OPTIONS + ("DEBUG=1",))
    assert folder() not in (first, second)
    monkeypatch.undo()
    monkeypatch.setattr(firmware, "_compiler_version", lambda prefix: "gcc (other) 99.1")
    assert folder() not in (first, second)
    monkeypatch.undo()
    assert folder() == second
    (module / "simflash.c").unlink()
    (module / "micropython.mk").unlink()
    module.rmdir()
    assert folder() not in (first, second)             # a tree without the C module


def test_the_readme_builds_by_hand_what_prepay_firmware_build_builds():
    """README's hand-made 32-bit build passes make what host/firmware/build.py passes."""
    import fnmatch
    from host.firmware import source
    with open(os.path.join(REPO_ROOT, "README.md")) as f:
        text = f.read()
    block = text[text.index("The same 32-bit build by hand"):]
    block = block[block.index("```\n") + 4:]
    block = block[:block.index("```")]
    bits, prefix, march, extra, _ = firmware.TARGETS["frozen32"]
    for option in firmware.MAKE_OPTIONS + extra + (
            "CROSS_COMPILE=" + prefix, "MPY_CROSS_FLAGS=-march=" + march,
            "USER_C_MODULES=$PWD/boards/sim/" + firmware.C_MODULES):
        assert option in block
    assert "prepay firmware manifest --board sim --port unix >" in block
    tarball = re.search(r"\.\./shared/micropython/(\S+\.tar\.xz)", block).group(1)
    assert fnmatch.fnmatch(tarball, os.path.basename(source.SHARED_TARBALLS))
