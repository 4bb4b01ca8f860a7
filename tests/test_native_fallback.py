"""Ports that cannot run native code still decode tokens and keep the flash (both runtimes).

Each module with ``@micropython.viper`` code is alone in its own ``*_viper.py`` module,
imported inside ``try`` (tests/test_native_modules.py checks the tree for that). Here
the plain path is made to run as it would on such a port: a scratch copy of the package
whose native module

* does not compile, as on a port without the native emitter (MicroPython's 32-bit
  WebAssembly port): SyntaxError "invalid micropython decorator";
* is an ``.mpy`` for another architecture (the ESP32 bundle's file on the Unix port):
  ValueError "incompatible .mpy arch";
* is missing: ImportError.

Then the plain module is imported from the copy and must give the vectors bit for bit.
"""
import os
import sys

from dualrt import IS_MICROPYTHON, TESTS_DIR, load_json

DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "2M"  # the 42 KB vector JSON is test data, not meter code

ROOT = TESTS_DIR.rsplit("/", 1)[0] if "/" in TESTS_DIR else ".."
VECTORS = load_json("vectors/sts-public.json")

# What the native module is on a port that cannot run it. This port has the emitter, so
# the first is refused the way a port without it refuses "@micropython.viper".
NO_EMITTER = ("import micropython\n\n\n@micropython.no_native_emitter_here\n"
              "def core(state, masks, table, nibbles):\n    pass\n")
# An .mpy header (docs: mpyfiles) for xtensawin (arch 10, sub-version 3) and 31-bit ints.
OTHER_ARCH_MPY = b"M\x06" + bytes(((10 << 2) | 3, 31))
BROKEN_NATIVE = (("no_emitter", ".py", NO_EMITTER), ("other_arch", ".mpy", OTHER_ARCH_MPY),
                 ("missing", None, None))


def _is_dir(path):
    return os.stat(path)[0] & 0x4000 != 0


def _clear(path):
    for entry in os.listdir(path):
        full = path + "/" + entry
        if _is_dir(full):
            _clear(full)
            os.rmdir(full)
        else:
            os.remove(full)


def _mkdirs(path):
    built = ""
    for part in path.split("/"):
        built = built + "/" + part if built or path.startswith("/") else part
        try:
            os.mkdir(built)
        except OSError:
            pass


def scratch_copy(name, package, native, kind):
    """tests/.tmp/<name>: the .py files of ``package`` ('tokens', 'boards/sim') with the
    native module broken as ``kind`` says; returns the root for sys.path."""
    root = TESTS_DIR + "/.tmp/native-" + name + ("-mpy" if IS_MICROPYTHON else "-cpy")
    _mkdirs(root)
    _clear(root)
    target = root + "/" + package
    _mkdirs(target)
    for entry in os.listdir(ROOT + "/" + package):
        if entry.endswith(".py") and entry != native + ".py":
            with open(ROOT + "/" + package + "/" + entry) as f:
                text = f.read()
            with open(target + "/" + entry, "w") as f:
                f.write(text)
    for label, suffix, content in BROKEN_NATIVE:
        if label == kind and suffix is not None:
            with open(target + "/" + native + suffix, "wb" if suffix == ".mpy" else "w") as f:
                f.write(content)
    return root


def run_from(root, top, check):
    """Run ``check()`` with package ``top`` imported afresh from ``root`` only; the
    test process's own modules of that package are put back afterwards."""
    def ours():
        return [k for k in sys.modules if k == top or k.startswith(top + ".")]
    saved = {}
    for k in ours():
        saved[k] = sys.modules.pop(k)
    sys.path.insert(0, root)
    try:
        check()
    finally:
        sys.path.pop(0)
        for k in ours():
            del sys.modules[k]
        sys.modules.update(saved)


def _bytes(hex_text):
    return bytes([int(hex_text[i:i + 2], 16) for i in range(0, len(hex_text), 2)])


def _sta_decodes_the_vectors():
    from tokens import sta
    from tokens.decode import decode
    assert sta._core_native is None and sta._core is sta._core_plain
    for v in VECTORS["ea07_tokens"]:
        key = _bytes(v["decoder_key"])
        token = decode(v["token20"], key, "sta")
        assert token.block == int(v["plaintext_block"], 16), v["test"]
        assert sta.encrypt(token.block, key) == int(v["encrypted_block"], 16), v["test"]
    for kct_set in VECTORS["key_change_tokens"]:
        if kct_set["algorithm"] == "STA":
            key = _bytes(kct_set["current_decoder_key"])
            for t in kct_set["tokens"]:
                assert decode(t["token20"], key, "sta").block == int(t["plaintext_block"], 16)


def test_sta_falls_back_to_the_plain_core():
    for kind, _, _ in BROKEN_NATIVE:
        run_from(scratch_copy("sta-" + kind, "tokens", "sta_viper", kind), "tokens",
                 _sta_decodes_the_vectors)


def _flash_programs_erases_and_reads():
    from boards.sim import blockdev
    assert blockdev._and_into is blockdev._and_into_plain
    assert blockdev._erase_into is blockdev._erase_plain
    assert blockdev._copy_from is blockdev._copy_plain
    dev = blockdev.RamFlash(256, 4)
    dev.ioctl(blockdev.IOCTL_BLOCK_ERASE, 1)
    assert dev.writeblocks(1, b"\x0f\xf0\x55", 10) == 0
    assert dev.writeblocks(1, b"\xf3\xff\xff", 10) == 0        # NOR: bits only clear
    buf = bytearray(4)
    dev.readblocks(1, buf, 9)
    assert bytes(buf) == b"\xff\x03\xf0\x55"
    dev.ioctl(blockdev.IOCTL_BLOCK_ERASE, 1)
    dev.readblocks(1, buf, 9)
    assert bytes(buf) == b"\xff\xff\xff\xff"
    assert dev.writes == 4


def test_sim_flash_falls_back_to_the_plain_loops():
    for kind, _, _ in BROKEN_NATIVE:
        run_from(scratch_copy("blockdev-" + kind, "boards/sim", "blockdev_viper", kind),
                 "boards", _flash_programs_erases_and_reads)


def test_the_native_modules_are_in_use_where_they_can_run():
    from boards.sim import blockdev
    from tokens import sta
    native = IS_MICROPYTHON and sys.platform != "webassembly"
    assert (sta._core is sta._core_native) == native
    assert (blockdev._and_into is not blockdev._and_into_plain) == native
