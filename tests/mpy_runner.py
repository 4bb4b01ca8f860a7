"""Runs the test functions of one module under MicroPython (see conftest.py).

Usage: micropython -X heapsize=200K tests/mpy_runner.py tests/test_x.py [COMPILED_ROOT]
COMPILED_ROOT holds the project's code as .mpy files; it is searched before the sources.
Started by tests/mpy_romfs.py, COMPILED_ROOT is /rom, the ROMFS image it holds.
Prints one result line per test: '@@prepay-result {"name":..., "ok":..., "tb":...}'.
"""
import gc
import io
import json
import os
import sys

MARK = "@@prepay-result "


def split_path(path):
    slash = path.rfind("/")
    return path[:slash] if slash >= 0 else ".", path[slash + 1:]


def mount_romfs():
    where = os.getenv("PREPAY_TEST_ROMFS")
    if where:
        import uctypes
        import vfs
        address, size = where.split(":")
        vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(address), int(size))), "/rom")


def main():
    mount_romfs()
    module_path = sys.argv[1]
    tests_dir, file_name = split_path(module_path)
    root, _ = split_path(tests_dir)
    sys.path.insert(0, tests_dir)
    sys.path.insert(0, root + "/firmware/lib")
    sys.path.insert(0, root)
    compiled = sys.argv[2] if len(sys.argv) > 2 else ""
    if compiled:
        sys.path.insert(0, compiled + "/firmware/lib")
        sys.path.insert(0, compiled)
    module = __import__(file_name[:-3])
    names = sorted(n for n in dir(module) if n.startswith("test_"))
    for name in names:
        gc.collect()
        try:
            getattr(module, name)()
            record = {"name": name, "ok": True, "tb": ""}
        except Exception as exc:  # a failing test is data, not the end of the run
            buf = io.StringIO()
            sys.print_exception(exc, buf)
            record = {"name": name, "ok": False, "tb": buf.getvalue()}
        print(MARK + json.dumps(record))


main()
