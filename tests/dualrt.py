"""Small helpers for dual-runtime tests (CPython and MicroPython alike)."""
import json
import os

IS_MICROPYTHON = __import__("sys").implementation.name == "micropython"
TESTS_DIR = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def raises(exc_type, fn, *args, **kwargs):
    """Call fn and return the exception it raises, which must be an exc_type."""
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    raise AssertionError("%s not raised by %r%r" % (exc_type.__name__, fn, args))


def load_json(relative_path):
    with open(TESTS_DIR + "/" + relative_path) as f:
        return json.load(f)


def tmp_dir(name):
    """A fresh scratch directory under tests/.tmp/ (shared by both runtimes)."""
    base = TESTS_DIR + "/.tmp"
    path = base + "/" + name + ("-mpy" if IS_MICROPYTHON else "-cpy")
    for p in (base, path):
        try:
            os.mkdir(p)
        except OSError:
            pass
    for entry in os.listdir(path):
        os.remove(path + "/" + entry)
    return path
